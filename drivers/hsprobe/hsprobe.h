/*
 * hsprobe.h: state shared by both images and the internal interfaces between their files.
 *
 * This directory is the one source of hsprobe's behaviour on both operating systems: the
 * routine, the telemetry ring, worker creation, signals and alerts, the swap and the IOCTL
 * handler. It is written against the NT kernel interface; "hsp_os.h", found on the include
 * path, supplies it: windows/hsp_os.h on Windows (ntddk.h plus the DriverProxy
 * declarations), drivers/linux/hsprobe/hsp_os.h on Linux (the same names, implemented by
 * hsproxy.ko). Each OS adds a small layer of its own for what has no common shape: loading
 * and unloading the image, the device and its dispatch, writing the unload dump, and the
 * handful of HspOs* / HspLock* / HspMutex* / HspAlloc primitives hsp_os.h declares.
 *
 * Version 1 owns everything that must outlive an image swap: the DriverProxy extension, the
 * worker table, the gate and the telemetry ring live in one HSP_SHARED block. Version 2 finds
 * it through version 1's device (Linux: its driver object), so routines from either image
 * record into the same ring and obey the same behaviour settings. Both images are built from
 * this source, so the layout matches; `magic` and `layout` guard against a mismatched pair.
 */
#ifndef HSPROBE_H
#define HSPROBE_H

#include "hsp_os.h"

#include "hsp_ioctl.h"

#ifndef HSPROBE_VERSION
#define HSPROBE_VERSION 1
#endif

#define HSP_MAGIC 0x48535032u /* "HSP2" */
#define HSP_ENDPOINTS 2       /* endpoint ids 1 and 2 */
#define HSP_ROUTINE_PARAMS 2  /* (WorkerContext, WaitStatus) */
#define HSP_MAX_WAIT_REASON 44 /* KWAIT_REASON values are 0..MaximumWaitReason-1 */
#define HSP_SWAP_HOME_TRIES 30 /* unload: attempts (1 s apart) to swap back to version 1 */

/* exported by name so a debugger breaks on hsprobe!HspWorkerRoutine without symbols */
HSP_EXPORT BOOLEAN HspWorkerRoutine(PVOID WorkerContext, NTSTATUS WaitStatus);
HSP_EXPORT BOOLEAN HspWorkerRoutineEp2(PVOID WorkerContext, NTSTATUS WaitStatus);
HSP_EXPORT NTSTATUS HspPhaseCallback(DRIVER_PROXY_REGISTER_CALLBACK_REASON Reason,
                                     PVOID Context);

/* The DriverProxy routines, resolved when the image loads (Windows: MmGetSystemRoutineAddress,
   so the image loads on kernels without them; Linux: hsproxy.ko's exports). NULL: absent. */
typedef struct HSP_PROXY_API {
    VOID (*GetFeatures)(PDRIVER_OBJECT, PDRIVER_PROXY_FEATURE_FLAGS);
    NTSTATUS (*CreateExtension)(PDRIVER_OBJECT, ULONG, PDRIVER_PROXY_EXTENSION *);
    PDRIVER_PROXY_EXTENSION (*ExtensionFromDriver)(PDRIVER_OBJECT);
    NTSTATUS (*RegisterEndpoints)(PDRIVER_PROXY_EXTENSION, PDRIVER_PROXY_ENDPOINT_INFORMATION,
                                  ULONG, PDRIVER_PROXY_REGISTER_CALLBACK, PVOID);
    PVOID (*EndpointWrapper)(PDRIVER_PROXY_EXTENSION, ULONG);
    NTSTATUS (*CreateWorker)(PDRIVER_PROXY_EXTENSION, PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES,
                             HANDLE, PCLIENT_ID,
                             PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT);
} HSP_PROXY_API;

/* every routine but GetFeatures, whose prototype is a guess and which is resolved alone */
#define HSP_PROXY_COMPLETE(api)                                                           \
    ((api)->CreateExtension && (api)->ExtensionFromDriver && (api)->RegisterEndpoints && \
     (api)->EndpointWrapper && (api)->CreateWorker)

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
    HANDLE handle;    /* kept open only when the thread object could not be referenced */
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
    uint64_t notification[HSP_MAX_EVENTS / 64]; /* bit i: event i is a notification event */
    ULONG event_count;
    KEVENT events[];
} HSP_WORKER;

typedef struct HSP_SHARED {
    ULONG magic;
    ULONG layout;
    volatile LONG refs; /* version 1, plus version 2 while attached */
    HSP_SPINLOCK lock;  /* ring, worker list, pending swap */
    HSP_MUTEX swap_lock; /* one registration at a time */
    PDRIVER_PROXY_EXTENSION extension;
    ULONG feature_flags;
    NTSTATUS extension_status;
    NTSTATUS register_status;
    ULONG registered_version;
    NTSTATUS last_swap_status;
    ULONG next_swap;
    volatile LONG crash;  /* enum hsp_crash armed */
    HSP_IMAGE images[3]; /* by version; images[0] unused */
    hsp_swap_in pending; /* a swap armed for the next image to attach (under `lock`) */
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
extern HSP_PROXY_API g_proxy;
extern PDRIVER_PROXY_EXTENSION g_extension; /* this image's handle on version 1's extension */

static __inline BOOLEAN HspIsNotificationBit(const uint64_t *bits, ULONG i)
{
    return (BOOLEAN)((bits[i / 64] >> (i % 64)) & 1);
}

/* ring.c */
typedef void (*HSP_UNDER_LOCK)(PVOID arg);
void HspRecord(HSP_SHARED *s, hsp_record *r);
/* HspRecord, running `inside(arg)` under the ring lock right after: what it does is ordered
   with the record (a signal's KeSetEvent, the routine's clearing of its events) */
void HspRecordWith(HSP_SHARED *s, hsp_record *r, HSP_UNDER_LOCK inside, PVOID arg);
void HspMark(HSP_SHARED *s, const char *label, ULONG worker);
void HspReadRing(HSP_SHARED *s, const hsp_read_in *in, hsp_read_out *out);
void HspDumpRing(HSP_SHARED *s);

/* routine.c */
_IRQL_requires_max_(PASSIVE_LEVEL) KSTART_ROUTINE HspFallbackLoop;

/* worker.c */
_IRQL_requires_max_(PASSIVE_LEVEL)
NTSTATUS HspCreateWorker(HSP_SHARED *s, const hsp_create_in *in, hsp_status_out *out);
NTSTATUS HspValidateContext(const hsp_create_in *in);

/* control.c */
_IRQL_requires_max_(DISPATCH_LEVEL) NTSTATUS HspSignal(HSP_SHARED *s, const hsp_signal_in *in);
_IRQL_requires_max_(PASSIVE_LEVEL) NTSTATUS HspAlert(HSP_SHARED *s, const hsp_alert_in *in);
void HspThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);
_IRQL_requires_max_(PASSIVE_LEVEL) ULONG HspStopWorkers(HSP_SHARED *s);
void HspFreeWorkers(HSP_SHARED *s);
ULONG HspLiveWorkers(HSP_SHARED *s);

/* swap.c */
void HspImageInit(HSP_IMAGE *image, PDRIVER_OBJECT driver);
_IRQL_requires_max_(PASSIVE_LEVEL) NTSTATUS HspRegisterInitial(HSP_SHARED *s);
_IRQL_requires_max_(PASSIVE_LEVEL) NTSTATUS HspSwapRequest(HSP_SHARED *s, const hsp_swap_in *in);
_IRQL_requires_max_(PASSIVE_LEVEL) NTSTATUS HspSwapBlocking(HSP_SHARED *s, const hsp_swap_in *in);
_IRQL_requires_max_(PASSIVE_LEVEL) void HspWaitAsyncSwaps(void);

/* ioctl.c: one control code; returns the request's status and sets *info to the output
   size (the IRP status and Information on Windows) */
_IRQL_requires_max_(PASSIVE_LEVEL)
NTSTATUS HspControl(HSP_SHARED *s, ULONG code, PVOID buf, ULONG in_len, ULONG out_len,
                    ULONG_PTR *info);

/* image.c: what loading and unloading an image does, below the OS's own steps */
_IRQL_requires_max_(PASSIVE_LEVEL) HSP_SHARED *HspSharedCreate(PDRIVER_OBJECT driver);
void HspRelease(HSP_SHARED *s);
_IRQL_requires_max_(PASSIVE_LEVEL) void HspOwnerStart(HSP_SHARED *s, PDRIVER_OBJECT driver);
_IRQL_requires_max_(PASSIVE_LEVEL) void HspOwnerStop(HSP_SHARED *s);
_IRQL_requires_max_(PASSIVE_LEVEL)
NTSTATUS HspGuestAttach(HSP_SHARED *s, PDRIVER_OBJECT driver, PDRIVER_OBJECT owner);
_IRQL_requires_max_(PASSIVE_LEVEL) void HspGuestStart(HSP_SHARED *s);
_IRQL_requires_max_(PASSIVE_LEVEL) void HspGuestStop(HSP_SHARED *s);
void HspArmCrash(HSP_SHARED *s, ULONG kind);

/* the OS layer (windows/driver.c, drivers/linux/hsprobe/module.c) */
BOOLEAN HspOsResolveProxy(HSP_PROXY_API *api); /* fills api; FALSE when GetFeatures is absent */
PVOID HspOsDumpOpen(void); /* the unload dump file; NULL when it cannot be created */
BOOLEAN HspOsDumpWrite(PVOID file, const void *data, ULONG len);
void HspOsDumpClose(PVOID file);
void HspOsBugCheck(ULONG kind); /* the crash switch; does not return */
void HspOsHang(void);           /* spins with interrupts off; does not return */

#endif
