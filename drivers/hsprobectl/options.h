/*
 * options.h: parsing of hsprobectl's command-line values into IOCTL inputs. Portable C, so
 * the host build checks it compiles the same way everywhere.
 */
#ifndef HSP_OPTIONS_H
#define HSP_OPTIONS_H

#include "hsp_ioctl.h"

/* each returns NULL or a message naming the bad value and the accepted forms */
const char *hsp_parse_create(int argc, char **argv, hsp_create_in *in);
const char *hsp_parse_swap(int argc, char **argv, hsp_swap_in *in);
const char *hsp_parse_u64(const char *text, unsigned long long *value);
const char *hsp_parse_i64(const char *text, long long *value);

#endif
