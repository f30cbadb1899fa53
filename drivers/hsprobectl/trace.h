/*
 * trace.h: telemetry records to the harness trace format (JSON Lines, format 1; see
 * harness/contract/trace.py). Portable C with no Windows headers, so the host test program
 * runs exactly the converter hsprobectl.exe ships.
 */
#ifndef HSP_TRACE_H
#define HSP_TRACE_H

#include <stddef.h>
#include <stdio.h>

#include "hsp_telemetry.h"

#define HSP_TRACE_FORMAT 1

/* the header line; scenario may be NULL */
void hsp_trace_header(FILE *out, const char *scenario);
/* one record line */
void hsp_trace_record(FILE *out, const hsp_record *r);
/* a telemetry file (hsp_file_header + records) to trace lines, header line included when
   with_header; returns NULL or a message naming what is wrong with the data */
const char *hsp_trace_file(FILE *out, const unsigned char *data, size_t len, int with_header,
                           const char *scenario);
/* a telemetry file header for count records */
hsp_file_header hsp_file_header_for(uint32_t count, uint64_t dropped, uint32_t source_version);

#endif
