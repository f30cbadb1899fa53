/*
 * hsprobectl: one harness action per invocation, answered as one JSON object on stdout
 * ({"status":N,...}, the shape of harness.actions.Outcome), and the telemetry as a harness
 * trace (JSON Lines). Usage and the action mapping: drivers/README.md. The same source builds
 * hsprobectl.exe (Windows) and hsprobectl (the Linux stand-in); device.h is the difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "options.h"
#include "trace.h"

static const char usage[] =
    "usage: hsprobectl COMMAND [ARGS]\n"
    "  query                                 feature state, registered image, live workers\n"
    "  create [--events KIND[:N],...|none] [--wait-type any|all|N] [--wait-reason N]\n"
    "         [--wait-mode kernel|user|N] [--alertable] [--timeout T100NS]\n"
    "         [--routine wrapper|raw|null] [--endpoint 1|2] [--keep-context]\n"
    "         [--returns true|false] [--returns-on WAITSTATUS=BOOL]... [--busy T100NS] [--gated]\n"
    "  signal WORKER EVENT | alert WORKER [--user-apc] | gate open|close\n"
    "  swap --to 1|2 [--fail-phase pre|stall|post] [--parameter-mismatch] [--no-wait]\n"
    "  unload                                stop hsprobe2 (if loaded) and hsprobe\n"
    "  mark LABEL                            write a milestone into the telemetry\n"
    "  crash routine-null|swap-bug|hang      arm the crash switch (takes the machine down)\n"
    "  trace [--from SEQ] [--scenario NAME] [--no-header] [--raw FILE]\n"
    "  convert FILE.hspt [--scenario NAME]   a telemetry file (e.g. the unload dump) as a trace\n"
    "  serve PORT                            (Linux) answer commands on a virtio-serial port\n";

static int usage_error(const char *message)
{
    fprintf(stderr, "hsprobectl: %s\n%s", message, usage);
    return HSP_EXIT_USAGE;
}

static int print_outcome(const hsp_status_out *o, int with_worker)
{
    printf("{\"status\":%lu,\"status_hex\":\"0x%08lX\"", (unsigned long)o->status,
           (unsigned long)o->status);
    if (with_worker && o->worker)
        printf(",\"worker\":%lu,\"thread\":%llu", (unsigned long)o->worker,
               (unsigned long long)o->thread);
    puts("}");
    return 0;
}

/* Sends one request to version 1's device and prints the outcome. */
static int simple(uint32_t code, const void *in, uint32_t in_len, int with_worker)
{
    hsp_status_out out;
    hsp_dev *d = hsp_open(1);
    int rc;
    if (!d)
        return hsp_open_failed(1);
    memset(&out, 0, sizeof out);
    rc = hsp_ioctl(d, code, in, in_len, &out, sizeof out);
    hsp_close(d);
    return rc ? rc : print_outcome(&out, with_worker);
}

static int cmd_query(void)
{
    hsp_info_out o;
    hsp_dev *d = hsp_open(1);
    int rc;
    if (!d)
        return hsp_open_failed(1);
    rc = hsp_ioctl(d, IOCTL_HSP_QUERY, NULL, 0, &o, sizeof o);
    hsp_close(d);
    if (rc)
        return rc;
    printf("{\"layout\":%lu,\"image_version\":%lu,\"enabled\":%s,\"feature_flags\":%lu,"
           "\"extension_status\":%lu,\"register_status\":%lu,\"registered_version\":%lu,"
           "\"loaded_versions\":[%s%s],\"live_workers\":%lu,\"last_swap_status\":%lu,"
           "\"next_seq\":%llu}\n",
           (unsigned long)o.layout, (unsigned long)o.image_version,
           o.feature_flags & 1 ? "true" : "false", (unsigned long)o.feature_flags,
           (unsigned long)o.extension_status, (unsigned long)o.register_status,
           (unsigned long)o.registered_version, o.attached_mask & 2 ? "1" : "",
           o.attached_mask & 4 ? (o.attached_mask & 2 ? ",2" : "2") : "",
           (unsigned long)o.live_workers, (unsigned long)o.last_swap_status,
           (unsigned long long)o.next_seq);
    return 0;
}

/* Loading hsprobe2 is the swap to version 2: arm the options with version 1, load image 2
   (start its service), and read the outcome back (its entry point ran the swap). */
static int swap_by_loading(hsp_swap_in *in)
{
    hsp_status_out out;
    hsp_info_out info;
    hsp_dev *d = hsp_open(1);
    int rc;
    if (!d)
        return hsp_open_failed(1);
    in->arm = 1;
    rc = hsp_ioctl(d, IOCTL_HSP_SWAP, in, sizeof *in, &out, sizeof out);
    if (!rc)
        rc = hsp_load(2, 1);
    if (!rc)
        rc = hsp_ioctl(d, IOCTL_HSP_QUERY, NULL, 0, &info, sizeof info);
    hsp_close(d);
    if (rc)
        return rc;
    out.status = in->wait ? info.last_swap_status : 0x103; /* STATUS_PENDING */
    return print_outcome(&out, 0);
}

static int cmd_swap(int argc, char **argv)
{
    hsp_swap_in in;
    hsp_dev *v2;
    const char *err = hsp_parse_swap(argc, argv, &in);
    if (err)
        return usage_error(err);
    if (in.to_version == 2) {
        if (!(v2 = hsp_open(2)))
            return swap_by_loading(&in);
        hsp_close(v2);
    }
    return simple(IOCTL_HSP_SWAP, &in, sizeof in, 0);
}

static int cmd_unload(void)
{
    int rc = hsp_load(2, 0);
    if (!rc)
        rc = hsp_load(1, 0);
    if (!rc)
        puts("{\"status\":0,\"status_hex\":\"0x00000000\"}");
    return rc;
}

static int cmd_crash(int argc, char **argv)
{
    static const char *const kinds[] = {"routine-null", "swap-bug", "hang"};
    hsp_crash_in in = {0};
    uint32_t i;
    for (i = 0; argc == 1 && i < 3; i++)
        if (!strcmp(argv[0], kinds[i]))
            in.kind = i + 1;
    if (!in.kind)
        return usage_error("crash takes routine-null, swap-bug or hang");
    return simple(IOCTL_HSP_CRASH, &in, sizeof in, 0);
}

int hsp_cmd_trace(int argc, char **argv);
int hsp_cmd_convert(int argc, char **argv);

static int cmd_create(int argc, char **argv)
{
    hsp_create_in in;
    const char *err = hsp_parse_create(argc, argv, &in);
    return err ? usage_error(err) : simple(IOCTL_HSP_CREATE, &in, sizeof in, 1);
}

static int cmd_two_numbers(int argc, char **argv, int alert)
{
    unsigned long long worker, event = 0;
    if (argc < 1 || hsp_parse_u64(argv[0], &worker))
        return usage_error("expected a WORKER number");
    if (alert) {
        hsp_alert_in in = {(uint32_t)worker, argc > 1 && !strcmp(argv[1], "--user-apc")};
        return simple(IOCTL_HSP_ALERT, &in, sizeof in, 0);
    } else {
        hsp_signal_in in;
        if (argc < 2 || hsp_parse_u64(argv[1], &event))
            return usage_error("signal needs WORKER EVENT");
        in.worker = (uint32_t)worker;
        in.event = (uint32_t)event;
        return simple(IOCTL_HSP_SIGNAL, &in, sizeof in, 0);
    }
}

/* one command; hsprobectl serve (device_linux_serve.c) runs many in one process */
int hsp_main(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "serve"))
        return hsp_serve(argc - 2, argv + 2);
    return hsp_main(argc, argv);
}

int hsp_main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "query"))
        return cmd_query();
    if (!strcmp(cmd, "create"))
        return cmd_create(argc - 2, argv + 2);
    if (!strcmp(cmd, "signal") || !strcmp(cmd, "alert"))
        return cmd_two_numbers(argc - 2, argv + 2, cmd[0] == 'a');
    if (!strcmp(cmd, "gate") && argc == 3 &&
        (!strcmp(argv[2], "open") || !strcmp(argv[2], "close"))) {
        hsp_gate_in in = {argv[2][0] == 'c'};
        return simple(IOCTL_HSP_GATE, &in, sizeof in, 0);
    }
    if (!strcmp(cmd, "swap"))
        return cmd_swap(argc - 2, argv + 2);
    if (!strcmp(cmd, "unload"))
        return cmd_unload();
    if (!strcmp(cmd, "mark") && argc == 3) {
        hsp_mark_in in;
        memset(&in, 0, sizeof in);
        strncpy(in.label, argv[2], sizeof in.label - 1);
        return simple(IOCTL_HSP_MARK, &in, sizeof in, 0);
    }
    if (!strcmp(cmd, "crash"))
        return cmd_crash(argc - 2, argv + 2);
    if (!strcmp(cmd, "trace"))
        return hsp_cmd_trace(argc - 2, argv + 2);
    if (!strcmp(cmd, "convert"))
        return hsp_cmd_convert(argc - 2, argv + 2);
    return usage_error(*cmd ? "unknown command or wrong arguments" : "no command given");
}
