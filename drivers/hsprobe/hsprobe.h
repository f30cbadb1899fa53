/*
 * hsprobe.h: state shared by both images and the internal interfaces between their files.
 *
 * Version 1 owns everything that must outlive an image swap: the DriverProxy extension, the
 * worker table, the gate and the telemetry ring live in one HSP_SHARED block in non-paged
 * pool. Version 2 finds it through version 1's device extension, so routines from either
 * image record into the same ring and obey the same behaviour settings. Both images are
 * built from this source, so the layout matches; `magic` and `layout` guard against a
 * mismatched pair.
 */
#ifndef HSPROBE_H
#define HSPROBE_H

#include "driverproxy.h"
#include "hsp_ioctl.h"

#ifndef HSPROBE_VERSION
#define HSPROBE_VERSION 1
#endif

#define HSP_TAG 0x20707348u /* 'Hsp ' as pool tools show it */
#define HSP_MAGIC 0x48535031u /* "HSP1" */
#define HSP_ENDPOINTS 2       /* endpoint ids 1 and 2 */
#define HSP_ROUTINE_PARAMS 2  /* (WorkerContext, WaitStatus) */
#define HSP_POOL_FLAG_NON_PAGED 0x0000000000000040ULL

/* exported by name so a debugger breaks on hsprobe!HspWorkerRoutine without symbols */
__declspec(dllexport) BOOLEAN HspWorkerRoutine(PVOID WorkerContext, NTSTATUS WaitStatus);
__declspec(dllexport) BOOLEAN HspWorkerRoutineEp2(PVOID WorkerContext, NTSTATUS WaitStatus);
__declspec(dllexport) NTSTATUS HspPhaseCallback(DRIVER_PROXY_REGISTER_CALLBACK_REASON Reason,
                                                PVOID Context);

typedef struct HSP_IMAGE {
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE routines[HSP_ENDPOINTS]; /* endpoint id n at n-1 */
    PDRIVER_PROXY_REGISTER_CALLBACK callback;
    PDRIVER_OBJECT driver;
} HSP_IMAGE;

typedef struct HSP_WORKER {
    LIST_ENTRY link;
    struct HSP_SHARED *shared;
    ULONG id;
    UCHAR endpoint;
    UCHAR returns;
    UCHAR gated;
    UCHAR fallback; /* runs on the PsCreateSystemThread loop, not a proxy worker */
    volatile LONG stop_round; /* unload: 1 returns TRUE, 2 returns FALSE, alternating */
    volatile LONG exited;
    ULONG override_count;
    hsp_override overrides[HSP_MAX_OVERRIDES];
    LONGLONG busy;
    PKTHREAD thread;  /* referenced; NULL when the create call failed */
    ULONG64 thread_id;
    /* the wait the fallback loop performs, a copy of the start context */
    WAIT_TYPE wait_type;
    KWAIT_REASON wait_reason;
    KPROCESSOR_MODE wait_mode;
    BOOLEAN alertable;
    BOOLEAN has_timeout;
    LARGE_INTEGER timeout;
    PKWAIT_BLOCK wait_blocks; /* fallback loop, EventCount > THREAD_WAIT_OBJECTS */
    PVOID start_context;      /* kept when free_context is off */
    ULONG event_count;
    KEVENT events[];
} HSP_WORKER;

typedef struct HSP_SHARED {
    ULONG magic;
    ULONG layout;
    volatile LONG refs; /* version 1, plus version 2 while attached */
    KSPIN_LOCK lock;    /* ring, worker list */
    KMUTEX swap_lock;   /* one registration at a time */
    PDRIVER_PROXY_EXTENSION extension;
    ULONG feature_flags;
    NTSTATUS extension_status;
    NTSTATUS register_status;
    ULONG registered_version;
    NTSTATUS last_swap_status;
    ULONG next_swap;
    HSP_IMAGE images[3]; /* by version; images[0] unused */
    hsp_swap_in pending; /* a swap armed for the next image to attach */
    BOOLEAN has_pending;
    BOOLEAN owner_gone; /* version 1 unloaded: the extension is gone */
    KEVENT gate;        /* notification event, signalled = open */
    LIST_ENTRY workers;
    ULONG next_worker;
    ULONG64 next_seq; /* seq of the next record; the ring holds the newest CAPACITY */
    hsp_record ring[HSP_RING_CAPACITY];
} HSP_SHARED;

/* per-image globals (each image has its own copy) */
extern HSP_SHARED *g_shared;

/* ring.c */
LONGLONG HspNow(void);
void HspRecord(HSP_SHARED *s, hsp_record *r);
void HspMark(HSP_SHARED *s, const char *label, ULONG worker);
void HspReadRing(HSP_SHARED *s, const hsp_read_in *in, hsp_read_out *out);
void HspDumpRing(HSP_SHARED *s);

/* worker.c */
NTSTATUS HspCreateWorker(HSP_SHARED *s, const hsp_create_in *in, hsp_status_out *out);
NTSTATUS HspSignal(HSP_SHARED *s, const hsp_signal_in *in);
NTSTATUS HspAlert(HSP_SHARED *s, const hsp_alert_in *in);
void HspThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);
ULONG HspStopWorkers(HSP_SHARED *s);
void HspFreeWorkers(HSP_SHARED *s);
ULONG HspLiveWorkers(HSP_SHARED *s);

/* swap.c */
void HspImageInit(HSP_IMAGE *image, PDRIVER_OBJECT driver);
NTSTATUS HspRegisterInitial(HSP_SHARED *s);
NTSTATUS HspSwapRequest(HSP_SHARED *s, const hsp_swap_in *in);
NTSTATUS HspSwapBlocking(HSP_SHARED *s, const hsp_swap_in *in);
void HspWaitAsyncSwaps(void);

#endif
