/*
 * swap.c: endpoint registration and the image swap. A swap is a V1 re-registration of the
 * same endpoint ids with another image's functions (docs/driverproxy.md section 2).
 * The driver sees the call go in (request), its own phase callback (pre, stall, post) and
 * the call return (rollback when it failed after a callback ran, then done with the status).
 */
#include "hsprobe.h"

PDRIVER_PROXY_EXTENSION g_extension;

typedef struct HSP_SWAP_CALL {
    HSP_SHARED *s;
    ULONG swap;
    UCHAR from;
    UCHAR to;
    UCHAR fail_phase;
    BOOLEAN callback_ran;
} HSP_SWAP_CALL;

#define HSP_ASYNC_SLOTS 16
static PVOID g_async[HSP_ASYNC_SLOTS]; /* referenced threads of swaps run with wait=0 */

void HspImageInit(HSP_IMAGE *image, PDRIVER_OBJECT driver)
{
    image->routines[0] = HspWorkerRoutine;
    image->routines[1] = HspWorkerRoutineEp2;
    image->callback = HspPhaseCallback;
    image->driver = driver;
}

static void HspRecordSwap(const HSP_SWAP_CALL *c, UCHAR phase, BOOLEAN has_status,
                          NTSTATUS status)
{
    hsp_record r;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_SWAP;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.swap.swap = c->swap;
    r.u.swap.phase = phase;
    r.u.swap.has_status = has_status;
    r.u.swap.status = (uint32_t)status;
    r.u.swap.from_version = c->from;
    r.u.swap.to_version = c->to;
    r.u.swap.endpoint_mask = (1u << 1) | (1u << 2);
    HspRecord(c->s, &r);
}

NTSTATUS HspPhaseCallback(DRIVER_PROXY_REGISTER_CALLBACK_REASON Reason, PVOID Context)
{
    HSP_SWAP_CALL *c = (HSP_SWAP_CALL *)Context;
    UCHAR phase = Reason == DriverProxyRegisterCallbackPreProcess     ? HSP_PH_PRE
                  : Reason == DriverProxyRegisterCallbackProxyStalled ? HSP_PH_STALL
                                                                      : HSP_PH_POST;
    if (!c)
        return STATUS_SUCCESS;
    c->callback_ran = TRUE;
    HspRecordSwap(c, phase, FALSE, STATUS_SUCCESS);
    if (phase == HSP_PH_STALL && c->s->crash == HSP_CRASH_SWAP_BUG) {
        HspMark(c->s, "crash switch: bug check in the ProxyStalled phase", 0);
        HspOsBugCheck(HSP_CRASH_SWAP_BUG);
    }
    /* must not call into the extension here: the proxy holds it (deadlock) */
    return phase == c->fail_phase ? STATUS_UNSUCCESSFUL : STATUS_SUCCESS;
}

static void HspEntries(const HSP_IMAGE *image, DRIVER_PROXY_ENDPOINT_INFORMATION *e,
                       BOOLEAN mismatch)
{
    ULONG i;
    for (i = 0; i < HSP_ENDPOINTS; i++) {
        e[i].Id = i + 1;
        e[i].Function = (PVOID)image->routines[i];
        e[i].ParameterCount = HSP_ROUTINE_PARAMS;
    }
    if (mismatch)
        e[HSP_ENDPOINTS - 1].ParameterCount = HSP_ROUTINE_PARAMS + 1; /* INVALID_PARAMETER_3 */
}

NTSTATUS HspRegisterInitial(HSP_SHARED *s)
{
    DRIVER_PROXY_ENDPOINT_INFORMATION e[HSP_ENDPOINTS];
    HspEntries(&s->images[HSPROBE_VERSION], e, FALSE);
    s->register_status = g_proxy.RegisterEndpoints(g_extension, e, HSP_ENDPOINTS, NULL, NULL);
    if (NT_SUCCESS(s->register_status))
        s->registered_version = HSPROBE_VERSION;
    HspMark(s, NT_SUCCESS(s->register_status) ? "endpoints 1 and 2 registered"
                                              : "endpoint registration failed",
            0);
    return s->register_status;
}

NTSTATUS HspSwapBlocking(HSP_SHARED *s, const hsp_swap_in *in)
{
    DRIVER_PROXY_ENDPOINT_INFORMATION e[HSP_ENDPOINTS];
    HSP_SWAP_CALL c;
    NTSTATUS status;

    if (in->to_version < 1 || in->to_version > 2)
        return STATUS_INVALID_PARAMETER;
    HspMutexAcquire(&s->swap_lock);
    if (s->owner_gone || !g_extension || !s->images[in->to_version].driver) {
        /* no extension (feature off) or no such image: nothing was re-registered, but the
           answer still has to reach hsprobectl, which reads it back after loading hsprobe2 */
        status = s->owner_gone || !g_extension ? STATUS_NOT_SUPPORTED : STATUS_NOT_FOUND;
        s->last_swap_status = status;
        HspMutexRelease(&s->swap_lock);
        return status;
    }
    RtlZeroMemory(&c, sizeof c);
    c.s = s;
    c.swap = ++s->next_swap;
    c.from = (UCHAR)s->registered_version;
    c.to = (UCHAR)in->to_version;
    c.fail_phase = (UCHAR)in->fail_phase;
    HspEntries(&s->images[in->to_version], e, (BOOLEAN)(in->parameter_mismatch != 0));
    HspRecordSwap(&c, HSP_PH_REQUEST, FALSE, STATUS_SUCCESS);
    status = g_proxy.RegisterEndpoints(g_extension, e, HSP_ENDPOINTS, HspPhaseCallback, &c);
    if (!NT_SUCCESS(status) && c.callback_ran)
        HspRecordSwap(&c, HSP_PH_ROLLBACK, FALSE, STATUS_SUCCESS);
    HspRecordSwap(&c, HSP_PH_DONE, TRUE, status);
    if (NT_SUCCESS(status))
        s->registered_version = in->to_version;
    s->last_swap_status = status;
    HspMutexRelease(&s->swap_lock);
    return status;
}

_IRQL_requires_max_(PASSIVE_LEVEL) static KSTART_ROUTINE HspSwapThread;
static VOID HspSwapThread(PVOID context)
{
    hsp_swap_in *in = (hsp_swap_in *)context;
    HspSwapBlocking(g_shared, in);
    HspFree(in);
    PsTerminateSystemThread(STATUS_SUCCESS);
}

/* Finds a slot for an async swap thread, releasing slots of threads that have ended. */
static PVOID *HspAsyncSlot(void)
{
    LARGE_INTEGER zero;
    ULONG i;
    zero.QuadPart = 0;
    for (i = 0; i < HSP_ASYNC_SLOTS; i++) {
        if (g_async[i] && KeWaitForSingleObject(g_async[i], Executive, KernelMode, FALSE,
                                                &zero) == STATUS_SUCCESS) {
            ObDereferenceObject(g_async[i]);
            g_async[i] = NULL;
        }
        if (!g_async[i])
            return &g_async[i];
    }
    return NULL;
}

/* Keeps the swap thread's object in `slot`; should referencing it fail, the swap is waited
   for here instead, so that no swap thread can outlive the image whose code it runs. */
static NTSTATUS HspKeepSwapThread(HSP_SHARED *s, HANDLE handle, PVOID *slot)
{
    NTSTATUS status = ObReferenceObjectByHandle(handle, SYNCHRONIZE, *PsThreadType, KernelMode,
                                                slot, NULL);
    if (!NT_SUCCESS(status)) {
        *slot = NULL;
        HspMutexRelease(&s->swap_lock); /* the swap thread needs it */
        ZwWaitForSingleObject(handle, FALSE, NULL);
        HspMutexAcquire(&s->swap_lock);
    }
    ZwClose(handle);
    return NT_SUCCESS(status) ? STATUS_PENDING : s->last_swap_status;
}

/* wait=0 runs the swap on a system thread and answers STATUS_PENDING: the test can then
   hold a call in flight and watch the swap wait for it; the outcome shows in the trace. */
NTSTATUS HspSwapRequest(HSP_SHARED *s, const hsp_swap_in *in)
{
    HANDLE handle;
    OBJECT_ATTRIBUTES oa;
    HSP_LOCK_STATE state;
    hsp_swap_in *copy;
    PVOID *slot;
    NTSTATUS status;

    if (in->arm) {
        state = HspLockAcquire(&s->lock);
        s->pending = *in;
        s->has_pending = TRUE;
        HspLockRelease(&s->lock, state);
        return STATUS_SUCCESS;
    }
    if (in->wait)
        return HspSwapBlocking(s, in);
    /* under the lock: two images answering at once must not take the same slot; the new
       thread's swap waits for the lock like any other */
    HspMutexAcquire(&s->swap_lock);
    slot = HspAsyncSlot();
    copy = slot ? (hsp_swap_in *)HspAlloc(sizeof *copy) : NULL;
    status = copy ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
    if (copy) {
        *copy = *in;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        status = PsCreateSystemThread(&handle, THREAD_ALL_ACCESS, &oa, NULL, NULL,
                                      HspSwapThread, copy);
    }
    if (NT_SUCCESS(status))
        status = HspKeepSwapThread(s, handle, slot);
    else if (copy)
        HspFree(copy);
    HspMutexRelease(&s->swap_lock);
    return status;
}

/* unload: the async threads run this image's code */
void HspWaitAsyncSwaps(void)
{
    ULONG i;
    for (i = 0; i < HSP_ASYNC_SLOTS; i++) {
        if (!g_async[i])
            continue;
        KeWaitForSingleObject(g_async[i], Executive, KernelMode, FALSE, NULL);
        ObDereferenceObject(g_async[i]);
        g_async[i] = NULL;
    }
}
