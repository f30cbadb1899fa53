/*
 * hsp_ioctl.h: the control interface between hsprobectl.exe and hsprobe.sys / hsprobe2.sys.
 *
 * Every request is METHOD_BUFFERED on \\.\hsprobe (version 1 owns the shared state; version 2
 * reaches the same state, so either device answers). Each harness action is one IOCTL, see
 * drivers/README.md. Outputs always start with an NTSTATUS: the outcome the kernel gave, which
 * is a measurement, not a transport error. The Linux stand-in (drivers/linux) answers the
 * same codes on /dev/hsprobe, each request spelled out as an hsp_buffer (below).
 */
#ifndef HSP_IOCTL_H
#define HSP_IOCTL_H

#include "hsp_telemetry.h"

#define HSP_DEVICE_NAME_V1 L"\\Device\\hsprobe"
#define HSP_DEVICE_NAME_V2 L"\\Device\\hsprobe2"
#define HSP_LINK_NAME_V1 L"\\DosDevices\\hsprobe"
#define HSP_LINK_NAME_V2 L"\\DosDevices\\hsprobe2"
#define HSP_DRIVER_NAME_V1 L"\\Driver\\hsprobe"
#define HSP_UNLOAD_DUMP L"\\SystemRoot\\Temp\\hsprobe-unload.hspt"
#define HSP_LINUX_DEVICE_V1 "/dev/hsprobe"
#define HSP_LINUX_DEVICE_V2 "/dev/hsprobe2"
#define HSP_LINUX_UNLOAD_DUMP "/tmp/hsprobe-unload.hspt"

/* CTL_CODE(FILE_DEVICE_UNKNOWN 0x22, 0x800 + n, METHOD_BUFFERED, FILE_ANY_ACCESS) */
#define HSP_CTL(n) ((uint32_t)((0x22u << 16) | ((0x800u + (n)) << 2)))
#define IOCTL_HSP_QUERY HSP_CTL(0)
#define IOCTL_HSP_CREATE HSP_CTL(1)
#define IOCTL_HSP_SIGNAL HSP_CTL(2)
#define IOCTL_HSP_ALERT HSP_CTL(3)
#define IOCTL_HSP_GATE HSP_CTL(4)
#define IOCTL_HSP_SWAP HSP_CTL(5)
#define IOCTL_HSP_READ HSP_CTL(6)
#define IOCTL_HSP_MARK HSP_CTL(7)
#define IOCTL_HSP_CRASH HSP_CTL(8)

#define HSP_MAX_OVERRIDES 8
#define HSP_READ_MAX 256 /* records per IOCTL_HSP_READ */

typedef struct hsp_status_out {
    uint32_t status;
    uint32_t worker; /* create: the new worker id (0 on failure) */
    uint64_t thread; /* create: thread id */
} hsp_status_out;

typedef struct hsp_info_out {
    uint32_t layout;            /* HSP_LAYOUT_VERSION */
    uint32_t image_version;     /* version of the image that answered */
    uint32_t feature_flags;     /* IoGetDriverProxyFeatures */
    uint32_t extension_status;  /* IoCreateDriverProxyExtension */
    uint32_t register_status;   /* first IoRegisterDriverProxyEndpoints */
    uint32_t registered_version; /* image whose functions the endpoints point at */
    uint32_t attached_mask;     /* bit n: image version n is loaded and attached */
    uint32_t live_workers;
    uint32_t last_swap_status;
    uint32_t pad;
    uint64_t next_seq;
} hsp_info_out;

typedef struct hsp_override {
    uint32_t wait_status;
    uint8_t value;
    uint8_t pad[3];
} hsp_override;

typedef struct hsp_create_in {
    /* start context: every field comes from here */
    uint32_t event_count; /* 0 and 65 are the invalid-parameter probes */
    uint32_t wait_type;
    uint32_t wait_reason;
    uint8_t wait_mode;
    uint8_t alertable;
    uint8_t has_timeout;
    uint8_t routine; /* enum hsp_routine */
    int64_t timeout;
    uint64_t notification[HSP_MAX_EVENTS / 64];
    /* placement and lifetime */
    uint8_t endpoint;     /* 1 or 2 */
    uint8_t free_context; /* free the start context right after the create call */
    /* behaviour of the routine */
    uint8_t returns;
    uint8_t gated;
    uint32_t override_count;
    int64_t busy; /* 100 ns spent per call */
    hsp_override overrides[HSP_MAX_OVERRIDES];
} hsp_create_in;

typedef struct hsp_signal_in {
    uint32_t worker;
    uint32_t event;
} hsp_signal_in;

typedef struct hsp_alert_in {
    uint32_t worker;
    uint32_t user_apc;
} hsp_alert_in;

typedef struct hsp_gate_in {
    uint32_t closed;
} hsp_gate_in;

typedef struct hsp_swap_in {
    uint32_t to_version;
    uint32_t fail_phase; /* 0 none, else enum hsp_phase PRE/STALL/POST */
    uint32_t parameter_mismatch;
    uint32_t wait; /* 0: return STATUS_PENDING at once, the swap finishes on a system thread */
    uint32_t arm;  /* to_version is not loaded yet: keep this request for it to run when it
                      attaches (hsprobectl then starts its service) */
} hsp_swap_in;

typedef struct hsp_read_in {
    uint64_t from_seq; /* first sequence number wanted */
} hsp_read_in;

typedef struct hsp_read_out {
    uint64_t dropped;  /* wanted records already overwritten */
    uint64_t next_seq; /* ask from here next time */
    uint32_t count;
    uint32_t pad;
    hsp_record records[HSP_READ_MAX];
} hsp_read_out;

typedef struct hsp_mark_in {
    char label[HSP_MARK_MAX];
} hsp_mark_in;

/* The crash switch, for the crash-capture path: armed by IOCTL_HSP_CRASH (or hsprobe.ko's
   crash= parameter), it fires at the next routine call (ROUTINE_NULL, HANG) or the next swap's
   ProxyStalled phase (SWAP_BUG). It takes the machine down on purpose. */
enum hsp_crash {
    HSP_CRASH_NONE = 0,
    HSP_CRASH_ROUTINE_NULL = 1, /* the routine writes through a NULL pointer */
    HSP_CRASH_SWAP_BUG = 2,     /* the phase callback bug-checks (Linux: BUG()) at ProxyStalled */
    HSP_CRASH_HANG = 3          /* the routine spins with interrupts off: a hung worker */
};

typedef struct hsp_crash_in {
    uint32_t kind; /* enum hsp_crash */
} hsp_crash_in;

/* Linux transport: ioctl(fd, IOCTL_HSP_*, &buffer) carries what DeviceIoControl passes as
   separate arguments. The module copies `in` in, runs the same handler as the Windows
   dispatch routine, and copies `returned` bytes out; `status` is the handler's NTSTATUS (the
   IRP status on Windows), and the ioctl fails with an errno when it is not a success. */
typedef struct hsp_buffer {
    uint64_t in;  /* user address of the input */
    uint64_t out; /* user address of the output */
    uint32_t in_len;
    uint32_t out_len;
    uint32_t returned;
    uint32_t status;
} hsp_buffer;
_Static_assert(sizeof(hsp_buffer) == 32, "hsp_buffer layout");

#endif
