/*
 * hsp_telemetry.h: the one telemetry record layout shared by hsprobe.sys, hsprobectl.exe,
 * the host test program and the Python decoder (harness/driver/telemetry.py).
 *
 * Fixed-size little-endian records with explicit padding, so that x86-64 Windows (LLP64),
 * x86-64 Linux (LP64, the stand-in modules in drivers/linux) and Python's struct module all
 * see the same bytes. The static asserts
 * at the bottom pin every offset the Python decoder relies on: change one and the build fails
 * before the golden-bytes test does.
 */
#ifndef HSP_TELEMETRY_H
#define HSP_TELEMETRY_H

#ifdef __KERNEL__ /* the Linux stand-in modules: no C library headers in the kernel */
#include <linux/stddef.h>
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

#define HSP_LAYOUT_VERSION 2
#define HSP_RECORD_SIZE 104
#define HSP_MARK_MAX 64
/* the driver keeps the newest HSP_RING_CAPACITY records; older ones count as dropped */
#define HSP_RING_CAPACITY 4096

enum hsp_kind {
    HSP_K_PROBE = 1,
    HSP_K_CREATE = 2,
    HSP_K_SIGNAL = 3,
    HSP_K_ALERT = 4,
    HSP_K_ENTER = 5,
    HSP_K_EXIT = 6,
    HSP_K_THREAD_EXIT = 7,
    HSP_K_SWAP = 8,
    HSP_K_UNLOAD = 9,
    HSP_K_MARK = 10
};

/* same order as harness.contract.trace.SwapPhase */
enum hsp_phase {
    HSP_PH_REQUEST = 0,
    HSP_PH_PRE = 1,
    HSP_PH_STALL = 2,
    HSP_PH_SWITCH = 3,
    HSP_PH_POST = 4,
    HSP_PH_ROLLBACK = 5,
    HSP_PH_DONE = 6
};

/* what the create call was handed as WorkerRoutine (harness.contract.startctx.Routine) */
enum hsp_routine { HSP_RT_WRAPPER = 0, HSP_RT_RAW = 1, HSP_RT_NULL = 2 };

#define HSP_MAX_EVENTS 128 /* room for the EventCount 65 probe; bits in create.notification */

typedef struct hsp_probe {
    uint32_t flags;            /* DRIVER_PROXY_FEATURE_FLAGS as returned */
    uint32_t extension_status; /* IoCreateDriverProxyExtension */
    uint8_t enabled;           /* flags bit 0 */
    uint8_t exports;           /* the kernel exports the DriverProxy routines (resolved at
                                  run time); 0 on kernels that predate them */
    uint8_t pad[2];
} hsp_probe;

typedef struct hsp_create {
    uint32_t status;
    uint8_t routine;  /* enum hsp_routine */
    uint8_t endpoint; /* endpoint id the routine is */
    uint8_t wait_mode;
    uint8_t alertable;
    uint64_t thread_object;
    int64_t timeout; /* 100 ns units, meaningful when has_timeout */
    uint32_t event_count;
    uint32_t wait_type;
    uint32_t wait_reason;
    uint8_t has_timeout;
    uint8_t fallback; /* the worker runs on the PsCreateSystemThread fallback loop */
    uint8_t pad[2];
    uint64_t notification[HSP_MAX_EVENTS / 64]; /* bit i set: event i is a notification event */
} hsp_create;

typedef struct hsp_enter {
    uint64_t thread_object;
    uint32_t wait_status;
    uint8_t irql;
    uint8_t endpoint;
    uint8_t pad[2];
} hsp_enter;

typedef struct hsp_exit {
    uint64_t thread_object;
    uint8_t irql;
    uint8_t returned;
    uint8_t endpoint;
    uint8_t pad[5];
} hsp_exit;

typedef struct hsp_swap {
    uint32_t swap; /* swap number: every phase of one re-registration shares it */
    uint32_t status;
    uint8_t phase; /* enum hsp_phase */
    uint8_t has_status;
    uint8_t from_version;
    uint8_t to_version;
    uint32_t endpoint_mask; /* bit n set: endpoint id n takes part */
} hsp_swap;

typedef struct hsp_record {
    uint16_t kind;    /* enum hsp_kind */
    uint8_t version;  /* image version that wrote the record */
    uint8_t flag;     /* signal/alert: user_apc; otherwise 0 */
    uint32_t worker;  /* worker id, 0 when none */
    uint64_t seq;     /* strictly increasing */
    int64_t time;     /* system time (KeQuerySystemTimePrecise), 100 ns since 1601 */
    int64_t itime;    /* interrupt time (KeQueryInterruptTimePrecise; Linux: CLOCK_MONOTONIC),
                         100 ns: the clock relative timeouts run on */
    uint64_t thread;  /* thread id of the thread concerned (or the writer) */
    union {
        hsp_probe probe;
        hsp_create create;
        uint32_t event;        /* signal: event index */
        uint32_t status;       /* thread_exit: exit status */
        uint32_t live_workers; /* unload */
        hsp_enter enter;
        hsp_exit exit;
        hsp_swap swap;
        char mark[HSP_MARK_MAX]; /* NUL-terminated unless all 64 bytes are used */
        uint8_t raw[HSP_MARK_MAX];
    } u;
} hsp_record;

/* a telemetry file (hsprobectl trace --raw, the driver's unload dump): this header, then
   `count` records */
#define HSP_FILE_MAGIC "HSPT"
typedef struct hsp_file_header {
    char magic[4];
    uint16_t layout;      /* HSP_LAYOUT_VERSION */
    uint16_t record_size; /* HSP_RECORD_SIZE */
    uint32_t count;
    uint32_t source_version; /* image version that produced the file, 0 for the tool */
    uint64_t dropped;        /* records lost to ring overflow before the first one */
    uint64_t reserved;
} hsp_file_header;

#define HSP_ASSERT_OFFSET(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

_Static_assert(sizeof(hsp_record) == HSP_RECORD_SIZE, "hsp_record size changed");
_Static_assert(sizeof(hsp_file_header) == 32, "hsp_file_header size changed");
_Static_assert(sizeof(hsp_create) <= HSP_MARK_MAX, "hsp_create outgrew the payload");
HSP_ASSERT_OFFSET(hsp_record, seq, 8);
HSP_ASSERT_OFFSET(hsp_record, time, 16);
HSP_ASSERT_OFFSET(hsp_record, itime, 24);
HSP_ASSERT_OFFSET(hsp_record, thread, 32);
HSP_ASSERT_OFFSET(hsp_record, u, 40);
HSP_ASSERT_OFFSET(hsp_create, thread_object, 8);
HSP_ASSERT_OFFSET(hsp_create, timeout, 16);
HSP_ASSERT_OFFSET(hsp_create, event_count, 24);
HSP_ASSERT_OFFSET(hsp_create, has_timeout, 36);
HSP_ASSERT_OFFSET(hsp_create, fallback, 37);
HSP_ASSERT_OFFSET(hsp_create, notification, 40);
HSP_ASSERT_OFFSET(hsp_probe, exports, 9);
HSP_ASSERT_OFFSET(hsp_enter, wait_status, 8);
HSP_ASSERT_OFFSET(hsp_exit, irql, 8);
HSP_ASSERT_OFFSET(hsp_swap, phase, 8);
HSP_ASSERT_OFFSET(hsp_swap, endpoint_mask, 12);
HSP_ASSERT_OFFSET(hsp_file_header, dropped, 16);

#endif
