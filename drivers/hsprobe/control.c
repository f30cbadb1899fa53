/*
 * control.c: what the test does to live workers (signal an event, alert the thread), how
 * their exit is noticed, and how unload ends them all.
 */
#include "hsprobe.h"

/* Workers are only freed at unload, after every IOCTL is done, so a pointer found under the
   lock stays valid for the rest of the request. */
static HSP_WORKER *HspFindWorker(HSP_SHARED *s, ULONG id, ULONG64 thread_id)
{
    HSP_LOCK_STATE state;
    LIST_ENTRY *e;
    HSP_WORKER *found = NULL;
    state = HspLockAcquire(&s->lock);
    for (e = s->workers.Flink; e != &s->workers; e = e->Flink) {
        HSP_WORKER *w = CONTAINING_RECORD(e, HSP_WORKER, link);
        if ((id && w->id == id) || (thread_id && w->thread_id == thread_id)) {
            found = w;
            break;
        }
    }
    HspLockRelease(&s->lock, state);
    return found;
}

static void HspRecordSimple(HSP_SHARED *s, USHORT kind, ULONG worker, UCHAR flag, ULONG value,
                            HSP_UNDER_LOCK inside, PVOID arg)
{
    hsp_record r;
    RtlZeroMemory(&r, sizeof r);
    r.kind = kind;
    r.worker = worker;
    r.flag = flag;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.event = value;
    HspRecordWith(s, &r, inside, arg);
}

static void HspSetEvent(PVOID event)
{
    KeSetEvent((PKEVENT)event, IO_NO_INCREMENT, FALSE);
}

NTSTATUS HspSignal(HSP_SHARED *s, const hsp_signal_in *in)
{
    HSP_WORKER *w = HspFindWorker(s, in->worker, 0);
    if (!w || in->event >= w->event_count)
        return STATUS_NOT_FOUND;
    /* set under the ring lock with the record: ordered with the routine's clearing (routine.c),
       and recorded before the routine can run */
    HspRecordSimple(s, HSP_K_SIGNAL, w->id, 0, in->event, HspSetEvent, &w->events[in->event]);
    return STATUS_SUCCESS;
}

static VOID HspApcKernel(PKAPC apc, PKNORMAL_ROUTINE *normal, PVOID *context, PVOID *arg1,
                         PVOID *arg2)
{
    UNREFERENCED_PARAMETER(context);
    UNREFERENCED_PARAMETER(arg1);
    UNREFERENCED_PARAMETER(arg2);
    *normal = NULL; /* a system thread has no user mode to run a normal routine in */
    HspFree(apc);
}

static VOID HspApcRundown(PKAPC apc)
{
    HspFree(apc);
}

static VOID HspApcNormal(PVOID context, PVOID arg1, PVOID arg2)
{
    UNREFERENCED_PARAMETER(context);
    UNREFERENCED_PARAMETER(arg1);
    UNREFERENCED_PARAMETER(arg2);
}

typedef struct HSP_ALERTING {
    HSP_WORKER *w;
    PKAPC apc; /* a user APC to queue, else an alert */
    BOOLEAN inserted;
} HSP_ALERTING;

/* under the ring lock, in one step with the alert record (as a signal is set) */
static void HspDeliverAlert(PVOID arg)
{
    HSP_ALERTING *a = (HSP_ALERTING *)arg;
    if (a->apc)
        a->inserted = KeInsertQueueApc(a->apc, NULL, NULL, IO_NO_INCREMENT);
    else
        KeAlertThread(a->w->thread, a->w->wait_mode);
}

/* A user APC is how a UserMode alertable wait sees STATUS_USER_APC; it stays queued (a
   system thread never returns to user mode) until the thread's exit runs it down. */
NTSTATUS HspAlert(HSP_SHARED *s, const hsp_alert_in *in)
{
    HSP_WORKER *w = HspFindWorker(s, in->worker, 0);
    HSP_ALERTING a;
    if (!w || !w->thread || w->exited)
        return STATUS_NOT_FOUND;
    a.w = w;
    a.apc = NULL;
    a.inserted = FALSE;
    if (in->user_apc) {
        a.apc = (PKAPC)HspAlloc(sizeof(KAPC));
        if (!a.apc)
            return STATUS_INSUFFICIENT_RESOURCES;
        KeInitializeApc(a.apc, w->thread, OriginalApcEnvironment, HspApcKernel, HspApcRundown,
                        HspApcNormal, UserMode, NULL);
    }
    HspRecordSimple(s, HSP_K_ALERT, w->id, (UCHAR)(in->user_apc != 0), 0, HspDeliverAlert, &a);
    if (a.apc && !a.inserted) {
        HspFree(a.apc);
        return STATUS_UNSUCCESSFUL;
    }
    return STATUS_SUCCESS;
}

/* PsSetCreateThreadNotifyRoutine callback; thread exit runs it on the exiting thread, after
   its exit status is set. */
void HspThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
    HSP_SHARED *s = g_shared;
    HSP_WORKER *w;
    UNREFERENCED_PARAMETER(ProcessId);
    if (Create || !s)
        return;
    w = HspFindWorker(s, 0, (ULONG64)(ULONG_PTR)ThreadId);
    if (!w || InterlockedExchange(&w->exited, 1))
        return;
    HspRecordSimple(s, HSP_K_THREAD_EXIT, w->id, 0,
                    (ULONG)PsGetThreadExitStatus(PsGetCurrentThread()), NULL, NULL);
}

ULONG HspLiveWorkers(HSP_SHARED *s)
{
    HSP_LOCK_STATE state;
    LIST_ENTRY *e;
    ULONG live = 0;
    state = HspLockAcquire(&s->lock);
    for (e = s->workers.Flink; e != &s->workers; e = e->Flink) {
        HSP_WORKER *w = CONTAINING_RECORD(e, HSP_WORKER, link);
        live += (w->thread || w->handle) && !w->exited;
    }
    HspLockRelease(&s->lock, state);
    return live;
}

/* TRUE once the worker's thread has ended (timeout NULL: wait for it without limit) */
static BOOLEAN HspThreadEnded(HSP_WORKER *w, PLARGE_INTEGER timeout)
{
    if (w->thread)
        return KeWaitForSingleObject(w->thread, Executive, KernelMode, FALSE, timeout) ==
               STATUS_SUCCESS;
    return ZwWaitForSingleObject(w->handle, FALSE, timeout) == STATUS_SUCCESS;
}

/* Ends one worker: the routine returns TRUE, then FALSE, alternately, each time its events
   are set, until the thread object is signalled. Unloading while it still runs would leave
   the kernel calling into freed code, so after the rounds we wait without limit. */
static void HspStopWorker(HSP_SHARED *s, HSP_WORKER *w)
{
    LARGE_INTEGER wait;
    LONG round;
    ULONG i;
    wait.QuadPart = -5000000; /* 500 ms */
    for (round = 1; round <= 20; round++) {
        InterlockedExchange(&w->stop_round, 2 - (round & 1));
        for (i = 0; i < w->event_count; i++) /* recorded like any signal: every set is */
            HspRecordSimple(s, HSP_K_SIGNAL, w->id, 0, i, HspSetEvent, &w->events[i]);
        if (HspThreadEnded(w, &wait))
            return;
    }
    HspMark(s, "worker ignores both return values; unload waits for it", w->id);
    HspThreadEnded(w, NULL);
}

ULONG HspStopWorkers(HSP_SHARED *s)
{
    ULONG live = HspLiveWorkers(s);
    LIST_ENTRY *e;
    KeSetEvent(&s->gate, IO_NO_INCREMENT, FALSE);
    /* stop every worker while all are still listed, so their thread exits get recorded */
    for (e = s->workers.Flink; e != &s->workers; e = e->Flink) {
        HSP_WORKER *w = CONTAINING_RECORD(e, HSP_WORKER, link);
        if ((w->thread || w->handle) && !w->exited)
            HspStopWorker(s, w);
    }
    return live;
}

/* after the thread-notify routine is gone, nothing else walks the list */
void HspFreeWorkers(HSP_SHARED *s)
{
    while (!IsListEmpty(&s->workers)) {
        HSP_WORKER *w = CONTAINING_RECORD(RemoveHeadList(&s->workers), HSP_WORKER, link);
        if (w->thread)
            ObDereferenceObject(w->thread);
        if (w->handle)
            ZwClose(w->handle);
        if (w->start_context)
            HspFree(w->start_context);
        if (w->wait_blocks)
            HspFree(w->wait_blocks);
        HspFree(w);
    }
}
