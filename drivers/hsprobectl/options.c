/*
 * options.c: command-line values to IOCTL inputs. Every start-context field can be set, and
 * invalid values (EventCount 0 or 65, unknown WaitType) on purpose: the kernel's answer to
 * them is what the harness measures.
 */
#include "options.h"

#include <stdlib.h>
#include <string.h>

static const char *bad_number = "expected a number (decimal or 0x hex)";

const char *hsp_parse_u64(const char *text, unsigned long long *value)
{
    char *end;
    *value = 0;
    if (!text || !*text || *text == '-')
        return bad_number;
    *value = strtoull(text, &end, 0);
    return *end ? bad_number : NULL;
}

const char *hsp_parse_i64(const char *text, long long *value)
{
    char *end;
    *value = 0;
    if (!text || !*text)
        return bad_number;
    *value = strtoll(text, &end, 0);
    return *end ? bad_number : NULL;
}

/* --events KIND[:COUNT],...  KIND sync|notification; "none" for EventCount 0 */
static const char *parse_events(const char *spec, hsp_create_in *in)
{
    char buf[256], *item;
    in->event_count = 0;
    memset(in->notification, 0, sizeof in->notification);
    if (strcmp(spec, "none") == 0)
        return NULL;
    if (strlen(spec) >= sizeof buf)
        return "--events: list too long";
    strcpy(buf, spec);
    for (item = strtok(buf, ","); item; item = strtok(NULL, ",")) {
        char *colon = strchr(item, ':');
        unsigned long long count = 1, i;
        int notification;
        if (colon) {
            *colon = 0;
            if (hsp_parse_u64(colon + 1, &count) || count == 0)
                return "--events: COUNT after ':' must be a positive number";
        }
        if (strcmp(item, "sync") != 0 && strcmp(item, "notification") != 0)
            return "--events: each item is sync[:N] or notification[:N], or the whole is none";
        notification = item[0] == 'n';
        if (in->event_count + count > HSP_MAX_EVENTS)
            return "--events: at most 128 events";
        for (i = 0; i < count; i++, in->event_count++)
            if (notification)
                in->notification[in->event_count / 64] |= 1ull << (in->event_count % 64);
    }
    return NULL;
}

static int named(const char *text, const char *a, const char *b, uint32_t *value)
{
    if (strcmp(text, a) == 0)
        *value = 0;
    else if (strcmp(text, b) == 0)
        *value = 1;
    else
        return 0;
    return 1;
}

static const char *parse_bool(const char *text, uint8_t *value)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
        *value = 1;
    else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
        *value = 0;
    else
        return "expected true or false";
    return NULL;
}

/* --returns-on STATUS=BOOL */
static const char *parse_override(const char *text, hsp_create_in *in)
{
    char buf[64], *eq;
    unsigned long long status;
    if (in->override_count >= HSP_MAX_OVERRIDES)
        return "--returns-on: at most 8 overrides";
    if (strlen(text) >= sizeof buf || !(eq = strchr(strcpy(buf, text), '=')))
        return "--returns-on: expected WAITSTATUS=true|false, e.g. 1=true";
    *eq = 0;
    if (hsp_parse_u64(buf, &status) || status > 0xFFFFFFFFull)
        return "--returns-on: WAITSTATUS must be a 32-bit number";
    in->overrides[in->override_count].wait_status = (uint32_t)status;
    if (parse_bool(eq + 1, &in->overrides[in->override_count].value))
        return "--returns-on: value after '=' must be true or false";
    in->override_count++;
    return NULL;
}

static const char *parse_create_value(const char *opt, const char *val, hsp_create_in *in)
{
    unsigned long long u;
    long long i;
    uint32_t v;
    if (strcmp(opt, "--events") == 0)
        return parse_events(val, in);
    if (strcmp(opt, "--wait-type") == 0) {
        if (named(val, "all", "any", &v))
            return in->wait_type = v, NULL;
        return hsp_parse_u64(val, &u) ? "--wait-type: all, any or a number"
                                      : (in->wait_type = (uint32_t)u, NULL);
    }
    if (strcmp(opt, "--wait-mode") == 0) {
        if (named(val, "kernel", "user", &v))
            return in->wait_mode = (uint8_t)v, NULL;
        return hsp_parse_u64(val, &u) ? "--wait-mode: kernel, user or a number"
                                      : (in->wait_mode = (uint8_t)u, NULL);
    }
    if (strcmp(opt, "--wait-reason") == 0)
        return hsp_parse_u64(val, &u) ? "--wait-reason: a KWAIT_REASON number"
                                      : (in->wait_reason = (uint32_t)u, NULL);
    if (strcmp(opt, "--timeout") == 0)
        return hsp_parse_i64(val, &i) ? "--timeout: 100 ns units, negative = relative"
                                      : (in->timeout = i, in->has_timeout = 1, NULL);
    if (strcmp(opt, "--busy") == 0)
        return hsp_parse_i64(val, &i) || i < 0 ? "--busy: 100 ns units, not negative"
                                               : (in->busy = i, NULL);
    if (strcmp(opt, "--endpoint") == 0)
        return hsp_parse_u64(val, &u) || u < 1 || u > 2 ? "--endpoint: 1 or 2"
                                                        : (in->endpoint = (uint8_t)u, NULL);
    if (strcmp(opt, "--routine") == 0) {
        static const char *const names[] = {"wrapper", "raw", "null"};
        for (v = 0; v < 3; v++)
            if (strcmp(val, names[v]) == 0)
                return in->routine = (uint8_t)v, NULL;
        return "--routine: wrapper, raw or null";
    }
    if (strcmp(opt, "--returns") == 0)
        return parse_bool(val, &in->returns) ? "--returns: true or false" : NULL;
    if (strcmp(opt, "--returns-on") == 0)
        return parse_override(val, in);
    return "unknown option for create";
}

const char *hsp_parse_create(int argc, char **argv, hsp_create_in *in)
{
    int i;
    memset(in, 0, sizeof *in);
    in->event_count = 1; /* the defaults of harness.contract.startctx.StartContext */
    in->wait_type = 1;
    in->endpoint = 1;
    in->free_context = 1;
    in->returns = 1;
    for (i = 0; i < argc; i++) {
        const char *err;
        if (strcmp(argv[i], "--alertable") == 0)
            in->alertable = 1;
        else if (strcmp(argv[i], "--gated") == 0)
            in->gated = 1;
        else if (strcmp(argv[i], "--keep-context") == 0)
            in->free_context = 0;
        else if (i + 1 >= argc)
            return "an option needs a value, or is unknown";
        else if ((err = parse_create_value(argv[i], argv[i + 1], in)) != NULL)
            return err;
        else
            i++;
    }
    return NULL;
}

const char *hsp_parse_swap(int argc, char **argv, hsp_swap_in *in)
{
    int i;
    unsigned long long u;
    memset(in, 0, sizeof *in);
    in->wait = 1;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--parameter-mismatch") == 0)
            in->parameter_mismatch = 1;
        else if (strcmp(argv[i], "--no-wait") == 0)
            in->wait = 0;
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (hsp_parse_u64(argv[++i], &u) || u < 1 || u > 2)
                return "--to: 1 or 2";
            in->to_version = (uint32_t)u;
        } else if (strcmp(argv[i], "--fail-phase") == 0 && i + 1 < argc) {
            const char *p = argv[++i];
            in->fail_phase = strcmp(p, "pre") == 0     ? HSP_PH_PRE
                             : strcmp(p, "stall") == 0 ? HSP_PH_STALL
                             : strcmp(p, "post") == 0  ? HSP_PH_POST
                                                       : 0;
            if (!in->fail_phase)
                return "--fail-phase: pre, stall or post";
        } else
            return "swap takes --to N [--fail-phase pre|stall|post] [--parameter-mismatch] "
                   "[--no-wait]";
    }
    return in->to_version ? NULL : "swap needs --to 1 or --to 2";
}
