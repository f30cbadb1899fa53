/*
 * trace.c: the converter from telemetry records to trace lines. Field names and kinds follow
 * harness/contract/trace.py; the Python decoder (harness/driver/telemetry.py) produces the
 * same records from the same bytes, which tests/unit/driver checks through the host program.
 */
#include "trace.h"

#include <string.h>

static const char *const phase_names[] = {"request", "pre",      "stall", "switch",
                                          "post",    "rollback", "done"};
static const char *const routine_names[] = {"wrapper", "raw", "null"};

static void put_string(FILE *out, const char *s, size_t max)
{
    size_t i;
    fputc('"', out);
    for (i = 0; i < max && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf(out, "\\u%04x", c); /* bytes read as Latin-1, as the Python decoder does */
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void put_head(FILE *out, const char *kind, const hsp_record *r)
{
    fprintf(out, "{\"kind\":\"%s\",\"seq\":%llu,\"t\":%lld,\"it\":%lld", kind,
            (unsigned long long)r->seq, (long long)r->time, (long long)r->itime);
}

static void put_context(FILE *out, const hsp_create *c)
{
    uint32_t i, n = c->event_count < HSP_MAX_EVENTS ? c->event_count : HSP_MAX_EVENTS;
    fputs(",\"context\":{\"events\":[", out);
    for (i = 0; i < n; i++)
        fprintf(out, "%s\"%s\"", i ? "," : "",
                (c->notification[i / 64] >> (i % 64)) & 1 ? "notification" : "sync");
    fprintf(out, "],\"wait_type\":%u,\"wait_reason\":%u,\"wait_mode\":%u,\"alertable\":%s",
            c->wait_type, c->wait_reason, c->wait_mode, c->alertable ? "true" : "false");
    if (c->has_timeout)
        fprintf(out, ",\"timeout\":%lld", (long long)c->timeout);
    else
        fputs(",\"timeout\":null", out);
    fprintf(out, ",\"routine\":\"%s\"}",
            c->routine <= HSP_RT_NULL ? routine_names[c->routine] : "null");
}

static void put_create(FILE *out, const hsp_record *r)
{
    const hsp_create *c = &r->u.create;
    put_head(out, "create", r);
    fprintf(out, ",\"status\":%u,\"fallback\":%s", c->status, c->fallback ? "true" : "false");
    put_context(out, c);
    if (!(c->status & 0x80000000u)) /* NT_SUCCESS: only then is there a thread */
        fprintf(out, ",\"worker\":%u,\"thread\":%llu,\"thread_object\":%llu", r->worker,
                (unsigned long long)r->thread, (unsigned long long)c->thread_object);
}

static void put_swap(FILE *out, const hsp_record *r)
{
    const hsp_swap *s = &r->u.swap;
    int id, first = 1;
    put_head(out, "swap", r);
    fprintf(out, ",\"swap\":%u,\"phase\":\"%s\",\"from_version\":%u,\"to_version\":%u", s->swap,
            s->phase <= HSP_PH_DONE ? phase_names[s->phase] : "done", s->from_version,
            s->to_version);
    fputs(",\"endpoints\":[", out);
    for (id = 0; id < 32; id++)
        if (s->endpoint_mask >> id & 1) {
            fprintf(out, "%s%d", first ? "" : ",", id);
            first = 0;
        }
    fputc(']', out);
    if (s->has_status)
        fprintf(out, ",\"status\":%u", s->status);
}

void hsp_trace_header(FILE *out, const char *scenario)
{
    fprintf(out, "{\"kind\":\"header\",\"format\":%d,\"source\":\"hsprobe\"", HSP_TRACE_FORMAT);
    if (scenario) {
        fputs(",\"scenario\":", out);
        put_string(out, scenario, strlen(scenario));
    }
    fputs("}\n", out);
}

void hsp_trace_record(FILE *out, const hsp_record *r)
{
    unsigned long long tid = (unsigned long long)r->thread;
    switch (r->kind) {
    case HSP_K_PROBE:
        put_head(out, "probe", r);
        fprintf(out, ",\"enabled\":%s,\"extension_status\":%u,\"flags\":%u,\"exports\":%s",
                r->u.probe.enabled ? "true" : "false", r->u.probe.extension_status,
                r->u.probe.flags, r->u.probe.exports ? "true" : "false");
        break;
    case HSP_K_CREATE:
        put_create(out, r);
        break;
    case HSP_K_SIGNAL:
        put_head(out, "signal", r);
        fprintf(out, ",\"worker\":%u,\"event\":%u", r->worker, r->u.event);
        break;
    case HSP_K_ALERT:
        put_head(out, "alert", r);
        fprintf(out, ",\"worker\":%u,\"user_apc\":%s", r->worker, r->flag ? "true" : "false");
        break;
    case HSP_K_ENTER:
        put_head(out, "enter", r);
        fprintf(out,
                ",\"worker\":%u,\"thread\":%llu,\"thread_object\":%llu,\"irql\":%u,"
                "\"wait_status\":%u,\"version\":%u,\"endpoint\":%u",
                r->worker, tid, (unsigned long long)r->u.enter.thread_object, r->u.enter.irql,
                r->u.enter.wait_status, r->version, r->u.enter.endpoint);
        break;
    case HSP_K_EXIT:
        put_head(out, "exit", r);
        fprintf(out, ",\"worker\":%u,\"thread\":%llu,\"irql\":%u,\"returned\":%s,\"version\":%u",
                r->worker, tid, r->u.exit.irql, r->u.exit.returned ? "true" : "false",
                r->version);
        break;
    case HSP_K_THREAD_EXIT:
        put_head(out, "thread_exit", r);
        fprintf(out, ",\"worker\":%u,\"thread\":%llu,\"status\":%u", r->worker, tid,
                r->u.status);
        break;
    case HSP_K_SWAP:
        put_swap(out, r);
        break;
    case HSP_K_UNLOAD:
        put_head(out, "unload", r);
        fprintf(out, ",\"version\":%u,\"live_workers\":%u", r->version, r->u.live_workers);
        break;
    default: /* a newer driver's kind: keep the line, say what it was */
        put_head(out, "mark", r);
        fputs(",\"label\":", out);
        if (r->kind == HSP_K_MARK) {
            put_string(out, r->u.mark, sizeof r->u.mark);
        } else {
            char text[48];
            snprintf(text, sizeof text, "unknown telemetry kind %u", r->kind);
            put_string(out, text, sizeof text);
        }
        break;
    }
    fputs("}\n", out);
}

hsp_file_header hsp_file_header_for(uint32_t count, uint64_t dropped, uint32_t source_version)
{
    hsp_file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, HSP_FILE_MAGIC, 4);
    h.layout = HSP_LAYOUT_VERSION;
    h.record_size = HSP_RECORD_SIZE;
    h.count = count;
    h.dropped = dropped;
    h.source_version = source_version;
    return h;
}

const char *hsp_trace_file(FILE *out, const unsigned char *data, size_t len, int with_header,
                           const char *scenario)
{
    hsp_file_header h;
    hsp_record r;
    size_t i;
    if (len < sizeof h || memcmp(data, HSP_FILE_MAGIC, 4) != 0)
        return "not a telemetry file (no HSPT header)";
    memcpy(&h, data, sizeof h);
    if (h.layout != HSP_LAYOUT_VERSION || h.record_size != HSP_RECORD_SIZE)
        return "telemetry layout differs from this tool's; use the matching hsprobectl";
    if ((len - sizeof h) / HSP_RECORD_SIZE < h.count)
        return "telemetry file is truncated";
    if (with_header)
        hsp_trace_header(out, scenario);
    for (i = 0; i < h.count; i++) {
        memcpy(&r, data + sizeof h + i * HSP_RECORD_SIZE, sizeof r);
        hsp_trace_record(out, &r);
    }
    return NULL;
}
