/*
 * telemetry.c: hsprobectl trace / convert. Reads the ring through IOCTL_HSP_READ (or, once
 * the driver is unloaded, the dump DriverUnload wrote) and prints the harness trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "options.h"
#include "trace.h"

typedef struct trace_opts {
    unsigned long long from;
    const char *scenario;
    const char *raw;
    int header;
} trace_opts;

static int parse_trace(int argc, char **argv, trace_opts *o)
{
    int i;
    o->from = 0;
    o->scenario = o->raw = NULL;
    o->header = 1;
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--no-header"))
            o->header = 0;
        else if (!strcmp(argv[i], "--from") && i + 1 < argc && !hsp_parse_u64(argv[i + 1], &o->from))
            i++;
        else if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
            o->scenario = argv[++i];
        else if (!strcmp(argv[i], "--raw") && i + 1 < argc)
            o->raw = argv[++i];
        else
            return 0;
    }
    return 1;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long size;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size + 1)) != NULL && fread(data, 1, (size_t)size, f) == (size_t)size)
        *len = (size_t)size;
    else if (data) {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* Appends what the ring holds from o->from on; returns 0 or an exit code. */
static int read_ring(hsp_dev *d, const trace_opts *o, hsp_record **records, uint32_t *count,
                     uint64_t *dropped)
{
    static hsp_read_out out; /* 24 KiB: off the stack */
    hsp_read_in in = {o->from};
    int rc;
    *count = 0;
    *dropped = 0;
    for (;;) {
        hsp_record *grown;
        if ((rc = hsp_ioctl(d, IOCTL_HSP_READ, &in, sizeof in, &out, sizeof out)) != 0)
            return rc;
        *dropped += out.dropped;
        if (!out.count)
            return 0;
        grown = realloc(*records, sizeof(hsp_record) * (*count + out.count));
        if (!grown)
            return fputs("hsprobectl: out of memory\n", stderr), HSP_EXIT_UNAVAILABLE;
        *records = grown;
        memcpy(*records + *count, out.records, sizeof(hsp_record) * out.count);
        *count += out.count;
        in.from_seq = out.next_seq;
    }
}

static int emit(const trace_opts *o, const hsp_record *records, uint32_t count,
                uint64_t dropped)
{
    uint32_t i;
    if (dropped)
        fprintf(stderr, "hsprobectl: %llu records were overwritten before they were read\n",
                (unsigned long long)dropped);
    if (o->raw) {
        hsp_file_header head = hsp_file_header_for(count, dropped, 0);
        FILE *f = fopen(o->raw, "wb");
        int ok = f && fwrite(&head, sizeof head, 1, f) == 1 &&
                 (!count || fwrite(records, sizeof *records, count, f) == count);
        if (f && fclose(f) != 0)
            ok = 0;
        return ok ? 0 : hsp_fail_last("writing the --raw file");
    }
    if (o->header)
        hsp_trace_header(stdout, o->scenario);
    for (i = 0; i < count; i++)
        hsp_trace_record(stdout, &records[i]);
    return 0;
}

/* After unload: the records the driver saved when it unloaded, from o->from on. */
static int from_dump(const trace_opts *o)
{
    size_t len = 0;
    unsigned char *data;
    hsp_file_header head;
    hsp_record *r;
    uint32_t i = 0, n;
    int rc;
    if (!(data = read_file(hsp_dump_path(), &len)) || len < sizeof head ||
        memcmp(data, HSP_FILE_MAGIC, 4)) {
        free(data);
        rc = hsp_open_failed(1);
        fprintf(stderr, "hsprobectl: and there is no unload dump at %s either\n",
                hsp_dump_path());
        return rc;
    }
    memcpy(&head, data, sizeof head);
    n = (uint32_t)((len - sizeof head) / sizeof *r);
    n = n < head.count ? n : head.count;
    r = (hsp_record *)(data + sizeof head);
    while (i < n && r[i].seq < o->from)
        i++;
    rc = emit(o, r + i, n - i, 0);
    free(data);
    return rc;
}

int hsp_cmd_trace(int argc, char **argv)
{
    trace_opts o;
    hsp_record *records = NULL;
    uint32_t count;
    uint64_t dropped;
    hsp_dev *d;
    int rc;
    if (!parse_trace(argc, argv, &o))
        return fputs("hsprobectl: trace [--from SEQ] [--scenario NAME] [--no-header] "
                     "[--raw FILE]\n", stderr), HSP_EXIT_USAGE;
    d = hsp_open(1);
    if (!d)
        return from_dump(&o);
    rc = read_ring(d, &o, &records, &count, &dropped);
    hsp_close(d);
    if (!rc)
        rc = emit(&o, records, count, dropped);
    free(records);
    return rc;
}

int hsp_cmd_convert(int argc, char **argv)
{
    size_t len = 0;
    unsigned char *data;
    const char *err;
    if (argc != 1 && !(argc == 3 && !strcmp(argv[1], "--scenario")))
        return fputs("hsprobectl: convert FILE.hspt [--scenario NAME]\n", stderr), HSP_EXIT_USAGE;
    if (!(data = read_file(argv[0], &len)))
        return fprintf(stderr, "hsprobectl: cannot read %s\n", argv[0]), HSP_EXIT_USAGE;
    err = hsp_trace_file(stdout, data, len, 1, argc == 3 ? argv[2] : NULL);
    free(data);
    if (err)
        return fprintf(stderr, "hsprobectl: %s: %s\n", argv[0], err), HSP_EXIT_USAGE;
    return 0;
}
