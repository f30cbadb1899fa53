/*
 * telemetry_writer.c: a host program for tests/unit/driver. It fills one record of every kind
 * through the shared header, exactly as the driver does, writes them as a telemetry file
 * (argv[1]) and converts that file with hsprobectl's converter to a trace (argv[2]). The
 * Python decoder must read the first as the harness reads the second, and the first must
 * match the golden bytes. `--convert IN.hspt OUT.jsonl` runs the converter on any file, so
 * tests can feed it records Python generated.
 */
#include <stdio.h>
#include <string.h>

#include "trace.h"

#define THREAD_OBJ 0xFFFFA00112345080ull
#define T0 133000000000000000ll
#define IT0 50000000ll

static hsp_record base(uint16_t kind, uint64_t seq, uint32_t worker, uint8_t version)
{
    hsp_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.seq = seq;
    r.time = T0 + (int64_t)seq * 10;
    r.itime = IT0 + (int64_t)seq * 7;
    r.worker = worker;
    r.version = version;
    r.thread = worker ? 0x1234 + worker : 4;
    return r;
}

static int fill(hsp_record *r)
{
    int n = 0;
    r[n] = base(HSP_K_PROBE, 1, 0, 1);
    r[n].u.probe.flags = 1;
    r[n].u.probe.enabled = 1;
    r[n].u.probe.exports = 1;
    r[n++].u.probe.extension_status = 0;

    r[n] = base(HSP_K_CREATE, 2, 1, 1);
    r[n].u.create.status = 0;
    r[n].u.create.routine = HSP_RT_WRAPPER;
    r[n].u.create.endpoint = 2;
    r[n].u.create.wait_mode = 1;
    r[n].u.create.alertable = 1;
    r[n].u.create.thread_object = THREAD_OBJ;
    r[n].u.create.has_timeout = 1;
    r[n].u.create.timeout = -10000;
    r[n].u.create.event_count = 3;
    r[n].u.create.wait_type = 1;
    r[n].u.create.wait_reason = 6;
    r[n++].u.create.notification[0] = 2; /* event 1 is a notification event */

    r[n] = base(HSP_K_CREATE, 3, 0, 1); /* the EventCount 65 probe, refused by the fallback */
    r[n].u.create.status = 0xC000000Du;
    r[n].u.create.fallback = 1;
    r[n].u.create.routine = HSP_RT_NULL;
    r[n].u.create.endpoint = 1;
    r[n].u.create.event_count = 65;
    r[n].u.create.wait_type = 1;
    r[n++].u.create.notification[1] = 1; /* event 64 */

    r[n] = base(HSP_K_SIGNAL, 4, 1, 1);
    r[n++].u.event = 1;
    r[n] = base(HSP_K_ALERT, 5, 1, 1);
    r[n++].flag = 1;

    r[n] = base(HSP_K_ENTER, 6, 1, 2);
    r[n].u.enter.thread_object = THREAD_OBJ;
    r[n].u.enter.wait_status = 1;
    r[n].u.enter.irql = 0;
    r[n++].u.enter.endpoint = 2;
    r[n] = base(HSP_K_EXIT, 7, 1, 2);
    r[n].u.exit.thread_object = THREAD_OBJ;
    r[n].u.exit.irql = 0;
    r[n].u.exit.returned = 1;
    r[n++].u.exit.endpoint = 2;

    r[n] = base(HSP_K_SWAP, 8, 0, 1);
    r[n].u.swap.swap = 3;
    r[n].u.swap.phase = HSP_PH_STALL;
    r[n].u.swap.from_version = 1;
    r[n].u.swap.to_version = 2;
    r[n++].u.swap.endpoint_mask = 6;
    r[n] = base(HSP_K_SWAP, 9, 0, 1);
    r[n].u.swap.swap = 3;
    r[n].u.swap.phase = HSP_PH_DONE;
    r[n].u.swap.has_status = 1;
    r[n].u.swap.status = 0xC0000001u;
    r[n].u.swap.from_version = 1;
    r[n].u.swap.to_version = 2;
    r[n++].u.swap.endpoint_mask = 6;

    r[n] = base(HSP_K_THREAD_EXIT, 10, 1, 1);
    r[n++].u.status = 0;
    r[n] = base(HSP_K_UNLOAD, 11, 0, 1);
    r[n++].u.live_workers = 2;
    r[n] = base(HSP_K_MARK, 12, 0, 1);
    strcpy(r[n++].u.mark, "gate \"closed\"\\\x01\xe9");
    r[n++] = base(77, 13, 0, 1); /* a kind this converter does not know */
    return n;
}

static int convert(const char *in_path, const char *out_path)
{
    static unsigned char data[1 << 22];
    size_t len;
    const char *err;
    FILE *f = fopen(in_path, "rb");
    if (!f)
        return perror(in_path), 1;
    len = fread(data, 1, sizeof data, f);
    fclose(f);
    f = fopen(out_path, "w");
    if (!f)
        return perror(out_path), 1;
    err = hsp_trace_file(f, data, len, 1, NULL);
    fclose(f);
    if (err)
        return fprintf(stderr, "%s\n", err), 1;
    return 0;
}

int main(int argc, char **argv)
{
    hsp_record records[16];
    hsp_file_header head;
    unsigned char data[sizeof head + sizeof records];
    FILE *f;
    const char *err;
    int n;

    if (argc == 4 && strcmp(argv[1], "--convert") == 0)
        return convert(argv[2], argv[3]);
    if (argc != 3) {
        fprintf(stderr, "usage: telemetry-writer RECORDS.hspt TRACE.jsonl\n"
                        "       telemetry-writer --convert IN.hspt OUT.jsonl\n");
        return 2;
    }
    n = fill(records);
    head = hsp_file_header_for((uint32_t)n, 5, 1);
    memcpy(data, &head, sizeof head);
    memcpy(data + sizeof head, records, sizeof(hsp_record) * (size_t)n);
    f = fopen(argv[1], "wb");
    if (!f || fwrite(data, sizeof head + sizeof(hsp_record) * (size_t)n, 1, f) != 1)
        return perror(argv[1]), 1;
    fclose(f);
    f = fopen(argv[2], "w");
    if (!f)
        return perror(argv[2]), 1;
    err = hsp_trace_file(f, data, sizeof head + sizeof(hsp_record) * (size_t)n, 1, "golden");
    fclose(f);
    if (err)
        return fprintf(stderr, "%s\n", err), 1;
    return 0;
}
