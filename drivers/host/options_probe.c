/*
 * options_probe.c: a host program for tests/unit/driver. It parses an hsprobectl command
 * line with hsprobectl's own parser (options.c) and prints the IOCTL input it would send, as
 * JSON, so the tests can prove that the command line harness.driver.commands builds for each
 * action means what the action says. Exit 2 and the parser's message on bad input.
 */
#include <stdio.h>
#include <string.h>

#include "options.h"

static int print_create(const hsp_create_in *in)
{
    uint32_t i;
    printf("{\"event_count\":%u,\"notification\":[%llu,%llu],\"wait_type\":%u,"
           "\"wait_reason\":%u,\"wait_mode\":%u,\"alertable\":%u,\"has_timeout\":%u,"
           "\"timeout\":%lld,\"routine\":%u,\"endpoint\":%u,\"free_context\":%u,"
           "\"returns\":%u,\"gated\":%u,\"busy\":%lld,\"overrides\":[",
           in->event_count, (unsigned long long)in->notification[0],
           (unsigned long long)in->notification[1], in->wait_type, in->wait_reason,
           in->wait_mode, in->alertable, in->has_timeout, (long long)in->timeout, in->routine,
           in->endpoint, in->free_context, in->returns, in->gated, (long long)in->busy);
    for (i = 0; i < in->override_count; i++)
        printf("%s[%u,%u]", i ? "," : "", in->overrides[i].wait_status, in->overrides[i].value);
    puts("]}");
    return 0;
}

int main(int argc, char **argv)
{
    const char *err = "usage: options-probe create|swap ARGS...";
    if (argc >= 2 && strcmp(argv[1], "create") == 0) {
        hsp_create_in in;
        if (!(err = hsp_parse_create(argc - 2, argv + 2, &in)))
            return print_create(&in);
    } else if (argc >= 2 && strcmp(argv[1], "swap") == 0) {
        hsp_swap_in in;
        if (!(err = hsp_parse_swap(argc - 2, argv + 2, &in))) {
            printf("{\"to_version\":%u,\"fail_phase\":%u,\"parameter_mismatch\":%u,\"wait\":%u}\n",
                   in.to_version, in.fail_phase, in.parameter_mismatch, in.wait);
            return 0;
        }
    }
    fprintf(stderr, "%s\n", err);
    return 2;
}
