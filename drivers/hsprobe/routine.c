/*
 * routine.c: the worker routine both images export, and the PsCreateSystemThread fallback
 * loop that runs the same routine where the DriverProxy feature is unavailable (as ACPI.sys
 * keeps one). Everything the routine does is set per worker by IOCTL_HSP_CREATE.
 *
 * Events after a wake (docs/trace-format.md): on entry the routine clears the notification
 * events that satisfied the wait (event i for STATUS_WAIT_i of a WaitAny; every notification
 * event for a WaitAll's STATUS_SUCCESS), so that each wake is one the test asked for; it
 * leaves synchronization events to the kernel, which resets them when it satisfies a wait.
 * The clearing happens under the ring lock together with the `enter` record, and a signal is
 * recorded and set under the same lock, so a signal recorded before an `enter` is consumed by
 * it and one recorded after it stays set for the next wait.
 */
#include "hsprobe.h"

/* read through a volatile so the compiler cannot turn the write into a trap of its own */
static ULONG *volatile g_null;

/* Unload ends a worker without knowing which return convention the kernel follows: it
   alternates TRUE and FALSE (stop_round 1, 2, 1...) until the thread object is signalled. */
static BOOLEAN HspReturnValue(HSP_WORKER *w, NTSTATUS wait_status)
{
    ULONG i;
    LONG round = w->stop_round;
    if (round)
        return (BOOLEAN)(round == 1);
    for (i = 0; i < w->override_count && i < HSP_MAX_OVERRIDES; i++)
        if (w->overrides[i].wait_status == (uint32_t)wait_status)
            return (BOOLEAN)(w->overrides[i].value != 0);
    return (BOOLEAN)(w->returns != 0);
}

typedef struct HSP_WAKE {
    HSP_WORKER *w;
    NTSTATUS status;
} HSP_WAKE;

static void HspClearWaking(PVOID arg)
{
    const HSP_WAKE *k = (const HSP_WAKE *)arg;
    HSP_WORKER *w = k->w;
    ULONG i;
    if (w->wait_type == WaitAny) {
        i = (ULONG)k->status;
        if (i < w->event_count && HspIsNotificationBit(w->notification, i))
            KeClearEvent(&w->events[i]);
    } else if (k->status == STATUS_SUCCESS) {
        for (i = 0; i < w->event_count; i++)
            if (HspIsNotificationBit(w->notification, i))
                KeClearEvent(&w->events[i]);
    }
}

static void HspFireCrash(HSP_SHARED *s, ULONG worker)
{
    LONG crash = s->crash;
    if (crash == HSP_CRASH_ROUTINE_NULL) {
        HspMark(s, "crash switch: the routine writes through NULL", worker);
        *g_null = 1;
    } else if (crash == HSP_CRASH_HANG) {
        HspMark(s, "crash switch: the routine hangs with interrupts off", worker);
        HspOsHang();
    }
}

static void HspRecordExit(HSP_SHARED *s, hsp_record *r, BOOLEAN ret, UCHAR endpoint)
{
    RtlZeroMemory(&r->u, sizeof r->u);
    r->kind = HSP_K_EXIT;
    r->u.exit.thread_object = HspCurrentThreadObject();
    r->u.exit.irql = KeGetCurrentIrql();
    r->u.exit.returned = ret;
    r->u.exit.endpoint = endpoint;
    HspRecord(s, r);
}

static BOOLEAN HspRoutineBody(PVOID context, NTSTATUS wait_status, UCHAR endpoint)
{
    HSP_WORKER *w = (HSP_WORKER *)context;
    HSP_SHARED *s = w->shared;
    KIRQL entry = KeGetCurrentIrql();
    HSP_WAKE wake;
    hsp_record r;
    BOOLEAN ret;

    /* Blocking is only legal at PASSIVE/APC level; a kernel that calls us at DISPATCH_LEVEL
       is exactly what the harness must report, not turn into a bug check of our own. */
    if (entry <= APC_LEVEL)
        KeWaitForSingleObject(&w->events[w->event_count], Executive, KernelMode, FALSE, NULL);
    if (!w->thread_id)
        w->thread_id = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    HspFireCrash(s, w->id);

    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_ENTER;
    r.worker = w->id;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.enter.thread_object = HspCurrentThreadObject();
    r.u.enter.wait_status = (uint32_t)wait_status;
    r.u.enter.irql = entry;
    r.u.enter.endpoint = endpoint;
    wake.w = w;
    wake.status = wait_status;
    HspRecordWith(s, &r, HspClearWaking, &wake);

    if (entry <= APC_LEVEL && w->gated && !w->stop_round)
        KeWaitForSingleObject(&s->gate, Executive, KernelMode, FALSE, NULL);
    if (entry <= APC_LEVEL && w->busy > 0) {
        LARGE_INTEGER delay;
        delay.QuadPart = -w->busy;
        KeDelayExecutionThread(KernelMode, FALSE, &delay);
    }
    ret = HspReturnValue(w, wait_status);
    HspRecordExit(s, &r, ret, endpoint);
    return ret;
}

BOOLEAN HspWorkerRoutine(PVOID WorkerContext, NTSTATUS WaitStatus)
{
    return HspRoutineBody(WorkerContext, WaitStatus, 1);
}

BOOLEAN HspWorkerRoutineEp2(PVOID WorkerContext, NTSTATUS WaitStatus)
{
    return HspRoutineBody(WorkerContext, WaitStatus, 2);
}

/* The fallback loop follows the documented convention (TRUE keeps running); it is ours, so
   there is nothing to measure in it. */
VOID HspFallbackLoop(PVOID context)
{
    HSP_WORKER *w = (HSP_WORKER *)context;
    PVOID objects[MAXIMUM_WAIT_OBJECTS];
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE routine =
        w->endpoint == 2 ? HspWorkerRoutineEp2 : HspWorkerRoutine;
    ULONG i;
    NTSTATUS status;

    for (i = 0; i < w->event_count && i < MAXIMUM_WAIT_OBJECTS; i++)
        objects[i] = &w->events[i];
    do {
        status = KeWaitForMultipleObjects(w->event_count, objects, w->wait_type, w->wait_reason,
                                          w->wait_mode, w->alertable,
                                          w->has_timeout ? &w->timeout : NULL, w->wait_blocks);
    } while (routine(w, status));
    PsTerminateSystemThread(STATUS_SUCCESS);
}
