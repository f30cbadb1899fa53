/*
 * worker.c: creating workers from IOCTL_HSP_CREATE, through the DriverProxy create call or,
 * where the feature is unavailable, on hsprobe's own PsCreateSystemThread fallback loop.
 */
#include "hsprobe.h"

static HSP_WORKER *HspAllocWorker(HSP_SHARED *s, const hsp_create_in *in)
{
    /* one extra event, last: "ready", set once the create record is written, so that no
       routine entry precedes its thread's create record in the trace */
    SIZE_T size = sizeof(HSP_WORKER) + sizeof(KEVENT) * ((SIZE_T)in->event_count + 1);
    HSP_WORKER *w = (HSP_WORKER *)HspAlloc(size);
    ULONG i;
    if (!w)
        return NULL;
    w->shared = s;
    w->endpoint = in->endpoint;
    w->returns = in->returns;
    w->gated = in->gated;
    w->override_count = in->override_count;
    RtlCopyMemory(w->overrides, in->overrides, sizeof w->overrides);
    w->busy = in->busy;
    w->wait_type = (WAIT_TYPE)in->wait_type;
    w->wait_reason = (KWAIT_REASON)in->wait_reason;
    w->wait_mode = (KPROCESSOR_MODE)in->wait_mode;
    w->alertable = in->alertable;
    w->has_timeout = in->has_timeout;
    w->timeout.QuadPart = in->timeout;
    w->event_count = in->event_count;
    RtlCopyMemory(w->notification, in->notification, sizeof w->notification);
    for (i = 0; i < in->event_count; i++)
        KeInitializeEvent(&w->events[i],
                          HspIsNotificationBit(in->notification, i) ? NotificationEvent
                                                                    : SynchronizationEvent,
                          FALSE);
    KeInitializeEvent(&w->events[in->event_count], NotificationEvent, FALSE);
    return w;
}

static void HspFreeWorker(HSP_WORKER *w)
{
    if (w->wait_blocks)
        HspFree(w->wait_blocks);
    HspFree(w);
}

static PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT
HspStartContext(HSP_WORKER *w, const hsp_create_in *in, PVOID routine)
{
    SIZE_T size = FIELD_OFFSET(DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT, Events) +
                  sizeof(PKEVENT) * (SIZE_T)in->event_count;
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT c =
        (PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT)HspAlloc(size);
    ULONG i;
    if (!c)
        return NULL;
    c->WorkerRoutine = (PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE)routine;
    c->Context = w;
    c->WaitType = w->wait_type;
    c->WaitReason = w->wait_reason;
    c->WaitMode = w->wait_mode;
    c->Altertable = w->alertable;
    c->HasTimeout = w->has_timeout;
    c->Timeout = w->timeout;
    c->EventCount = in->event_count;
    for (i = 0; i < in->event_count; i++)
        c->Events[i] = &w->events[i];
    return c;
}

static PVOID HspRoutineFor(HSP_SHARED *s, const hsp_create_in *in)
{
    if (in->routine == HSP_RT_NULL)
        return NULL;
    if (in->routine == HSP_RT_RAW)
        return in->endpoint == 2 ? (PVOID)HspWorkerRoutineEp2 : (PVOID)HspWorkerRoutine;
    return g_proxy.EndpointWrapper(s->extension, in->endpoint);
}

/* The start-context rules of the create call (docs/driverproxy.md section 1, and
   harness.contract.startctx.create_status): a registered wrapper as routine, 1 to
   MAXIMUM_WAIT_OBJECTS events, a known WaitType, WaitMode and WaitReason. The fallback
   applies them itself, so that no invalid wait reaches KeWaitForMultipleObjects. */
NTSTATUS HspValidateContext(const hsp_create_in *in)
{
    if (in->routine != HSP_RT_WRAPPER)
        return STATUS_INVALID_PARAMETER;
    if (in->event_count == 0 || in->event_count > MAXIMUM_WAIT_OBJECTS)
        return STATUS_INVALID_PARAMETER;
    if (in->wait_type != WaitAll && in->wait_type != WaitAny)
        return STATUS_INVALID_PARAMETER;
    if (in->wait_mode != KernelMode && in->wait_mode != UserMode)
        return STATUS_INVALID_PARAMETER;
    if (in->wait_reason >= HSP_MAX_WAIT_REASON)
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

static NTSTATUS HspStartFallback(HSP_WORKER *w, const hsp_create_in *in, HANDLE *handle,
                                 CLIENT_ID *cid)
{
    OBJECT_ATTRIBUTES oa;
    NTSTATUS status = HspValidateContext(in);
    w->fallback = TRUE;
    if (!NT_SUCCESS(status))
        return status;
    if (in->event_count > THREAD_WAIT_OBJECTS) {
        w->wait_blocks = (PKWAIT_BLOCK)HspAlloc(sizeof(KWAIT_BLOCK) * in->event_count);
        if (!w->wait_blocks)
            return STATUS_INSUFFICIENT_RESOURCES;
    }
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    return PsCreateSystemThread(handle, THREAD_ALL_ACCESS, &oa, NULL, cid, HspFallbackLoop, w);
}

static NTSTATUS HspStartProxy(HSP_SHARED *s, HSP_WORKER *w, const hsp_create_in *in,
                              HANDLE *handle, CLIENT_ID *cid)
{
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT ctx;
    OBJECT_ATTRIBUTES oa;
    NTSTATUS status;
    PVOID routine = HspRoutineFor(s, in);
    if (!routine && in->routine == HSP_RT_WRAPPER) /* else the create status looks odd */
        HspMark(s, "no wrapper for this endpoint: the create call gets a NULL routine", 0);
    ctx = HspStartContext(w, in, routine);
    if (!ctx)
        return STATUS_INSUFFICIENT_RESOURCES;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    status = g_proxy.CreateWorker(s->extension, handle, THREAD_ALL_ACCESS, &oa, NULL, cid, ctx);
    /* the create call copies the context; ACPI.sys frees it at once, and so do we unless told
       to keep it (to tell a copying kernel from one that keeps a pointer) */
    if (in->free_context || !NT_SUCCESS(status))
        HspFree(ctx);
    else
        w->start_context = ctx;
    return status;
}

static void HspRecordCreate(HSP_SHARED *s, HSP_WORKER *w, const hsp_create_in *in,
                            NTSTATUS status)
{
    hsp_record r;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_CREATE;
    r.worker = NT_SUCCESS(status) ? w->id : 0;
    r.thread = w->thread_id;
    r.u.create.status = (uint32_t)status;
    r.u.create.routine = in->routine;
    r.u.create.endpoint = in->endpoint;
    r.u.create.wait_mode = in->wait_mode;
    r.u.create.alertable = in->alertable;
    r.u.create.thread_object = w->thread ? HspThreadObject(w->thread) : 0;
    r.u.create.timeout = in->timeout;
    r.u.create.event_count = in->event_count;
    r.u.create.wait_type = in->wait_type;
    r.u.create.wait_reason = in->wait_reason;
    r.u.create.has_timeout = in->has_timeout;
    r.u.create.fallback = w->fallback;
    RtlCopyMemory(r.u.create.notification, in->notification, sizeof in->notification);
    HspRecord(s, &r);
}

/* Keeps a referenced thread object. Should referencing fail, the handle stays open instead,
   so that unload can still wait for the thread before this image's code goes away. */
static void HspAdopt(HSP_SHARED *s, HSP_WORKER *w, HANDLE handle, const CLIENT_ID *cid)
{
    HSP_LOCK_STATE state;
    PVOID thread = NULL;
    if (NT_SUCCESS(ObReferenceObjectByHandle(handle, SYNCHRONIZE, *PsThreadType, KernelMode,
                                             &thread, NULL))) {
        w->thread = (PKTHREAD)thread;
        ZwClose(handle);
    } else {
        w->handle = handle;
    }
    w->thread_id = (ULONG64)(ULONG_PTR)cid->UniqueThread;
    state = HspLockAcquire(&s->lock);
    w->id = ++s->next_worker;
    InsertTailList(&s->workers, &w->link);
    HspLockRelease(&s->lock, state);
    if (!w->thread)
        HspMark(s, "worker thread object not referenced: no alerts, unload waits on its handle",
                w->id);
}

NTSTATUS HspCreateWorker(HSP_SHARED *s, const hsp_create_in *in, hsp_status_out *out)
{
    HSP_WORKER *w;
    HANDLE handle = NULL;
    CLIENT_ID cid;
    NTSTATUS status;

    if (in->event_count > HSP_MAX_EVENTS || in->override_count > HSP_MAX_OVERRIDES ||
        in->endpoint < 1 || in->endpoint > HSP_ENDPOINTS || in->routine > HSP_RT_NULL)
        return STATUS_INVALID_PARAMETER; /* a bad request, not a measurement */
    w = HspAllocWorker(s, in);
    if (!w)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(&cid, sizeof cid);
    status = s->extension ? HspStartProxy(s, w, in, &handle, &cid)
                          : HspStartFallback(w, in, &handle, &cid);
    if (NT_SUCCESS(status))
        HspAdopt(s, w, handle, &cid);
    HspRecordCreate(s, w, in, status);
    out->status = (uint32_t)status;
    out->worker = NT_SUCCESS(status) ? w->id : 0;
    out->thread = w->thread_id;
    if (!NT_SUCCESS(status)) {
        HspFreeWorker(w);
        return STATUS_SUCCESS;
    }
    if (w->fallback)
        HspMark(s, "worker runs on the PsCreateSystemThread fallback loop", w->id);
    KeSetEvent(&w->events[w->event_count], IO_NO_INCREMENT, FALSE);
    return STATUS_SUCCESS;
}
