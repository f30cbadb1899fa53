/*
 * dispatcher.c: kernel events and KeWaitForMultipleObjects (docs/driverproxy.md section 4).
 *
 * One lock guards every object's state and wait list, as the NT dispatcher lock does. A wait
 * tests, in this order: its objects (WaitAny: the lowest signalled index; WaitAll: all of
 * them), then, if alertable, a pending alert or queued user APC, then a zero timeout; only
 * then does it block. Satisfying a wait resets the synchronization events it consumed;
 * notification events stay signalled until cleared. A user APC never ends a KernelMode wait,
 * and since a system thread never returns to user mode it stays queued, so every later
 * alertable UserMode wait returns STATUS_USER_APC (it is run down at thread exit).
 * Relative timeouts run on CLOCK_MONOTONIC (the interrupt-time analogue), absolute ones on
 * CLOCK_REALTIME, so a clock step moves absolute deadlines only.
 */
#include <linux/ktime.h>

#include "internal.h"

static DEFINE_SPINLOCK(hs_dispatcher_lock);
static unsigned int hs_sync_sets; /* the lost-wakeup bug drops every third */

struct hs_wait {
    struct task_struct *task;
    PKTHREAD thread; /* NULL when the waiter is not an hsproxy thread */
    PKWAIT_BLOCK blocks;
    ULONG count;
    WAIT_TYPE type;
    KPROCESSOR_MODE mode;
    BOOLEAN alertable;
    NTSTATUS status;
    int done;
    struct hrtimer timer;
};

static bool hs_signalled(const DISPATCHER_HEADER *h)
{
    return h->SignalState > 0;
}

static void hs_consume(DISPATCHER_HEADER *h)
{
    if (h->Type == HS_OBJECT_SYNCHRONIZATION_EVENT)
        h->SignalState = 0;
}

/* The status that satisfies w with its objects as they are now, consuming them; else
   STATUS_PENDING. */
static NTSTATUS hs_test_objects(struct hs_wait *w)
{
    ULONG i, found = w->count;
    if (w->type == WaitAny) {
        for (i = 0; i < w->count; i++)
            if (hs_signalled(w->blocks[i].Object)) {
                found = i;
                if (!hs_bug(HS_BUG_WRONG_WAIT_INDEX))
                    break;
            }
        if (found == w->count)
            return STATUS_PENDING;
        hs_consume(w->blocks[found].Object);
        return STATUS_WAIT_0 + found;
    }
    for (i = 0; i < w->count; i++)
        if (!hs_signalled(w->blocks[i].Object))
            return STATUS_PENDING;
    for (i = 0; i < w->count; i++)
        hs_consume(w->blocks[i].Object);
    return STATUS_SUCCESS;
}

/* KiCheckAlertability: an alert for the wait's mode, a queued user APC for a UserMode wait,
   then a kernel-mode alert. */
static NTSTATUS hs_test_alerts(PKTHREAD t, KPROCESSOR_MODE mode)
{
    if (t->alerted[mode]) {
        t->alerted[mode] = FALSE;
        return STATUS_ALERTED;
    }
    if (mode == UserMode && !list_empty(&t->user_apcs))
        return STATUS_USER_APC;
    if (t->alerted[KernelMode]) {
        t->alerted[KernelMode] = FALSE;
        return STATUS_ALERTED;
    }
    return STATUS_PENDING;
}

static void hs_unwait(struct hs_wait *w, NTSTATUS status)
{
    ULONG i;
    for (i = 0; i < w->count; i++)
        list_del_init(&w->blocks[i].WaitListEntry);
    if (w->thread)
        w->thread->wait = NULL;
    w->status = status;
    smp_store_release(&w->done, 1);
    wake_up_process(w->task);
}

/* h was signalled: satisfy the waiters it now allows, in the order they began waiting. */
static void hs_satisfy(DISPATCHER_HEADER *h)
{
    PKWAIT_BLOCK b;
    NTSTATUS status;
again:
    list_for_each_entry(b, &h->WaitListHead, WaitListEntry) {
        if (!hs_signalled(h))
            return;
        status = hs_test_objects(b->Wait);
        if (status != STATUS_PENDING) {
            hs_unwait(b->Wait, status);
            goto again; /* the list changed under the iterator */
        }
    }
}

void hs_signal_object(DISPATCHER_HEADER *h)
{
    unsigned long flags;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    h->SignalState = 1;
    hs_satisfy(h);
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
}

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Header.Type = Type == SynchronizationEvent ? HS_OBJECT_SYNCHRONIZATION_EVENT
                                                      : HS_OBJECT_NOTIFICATION_EVENT;
    Event->Header.SignalState = State ? 1 : 0;
    INIT_LIST_HEAD(&Event->Header.WaitListHead);
}
EXPORT_SYMBOL(KeInitializeEvent);

LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    DISPATCHER_HEADER *h = &Event->Header;
    unsigned long flags;
    LONG previous;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    previous = h->SignalState;
    if (hs_bug(HS_BUG_LOST_WAKEUP) && h->Type == HS_OBJECT_SYNCHRONIZATION_EVENT &&
        !list_empty(&h->WaitListHead) && ++hs_sync_sets % 3 == 0) {
        spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
        return previous; /* the wake-up is dropped on the floor */
    }
    h->SignalState = 1;
    hs_satisfy(h);
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return previous;
}
EXPORT_SYMBOL(KeSetEvent);

LONG KeResetEvent(PRKEVENT Event)
{
    unsigned long flags;
    LONG previous;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    previous = Event->Header.SignalState;
    Event->Header.SignalState = 0;
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return previous;
}
EXPORT_SYMBOL(KeResetEvent);

VOID KeClearEvent(PRKEVENT Event)
{
    KeResetEvent(Event);
}
EXPORT_SYMBOL(KeClearEvent);

LONG KeReadStateEvent(PRKEVENT Event)
{
    return READ_ONCE(Event->Header.SignalState);
}
EXPORT_SYMBOL(KeReadStateEvent);

static enum hrtimer_restart hs_wait_timeout(struct hrtimer *timer)
{
    struct hs_wait *w = container_of(timer, struct hs_wait, timer);
    unsigned long flags;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    if (!w->done)
        hs_unwait(w, STATUS_TIMEOUT);
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return HRTIMER_NORESTART;
}

/* Arms w's timer for a non-zero timeout; false when the wait has no deadline. */
static bool hs_arm_timeout(struct hs_wait *w, const LARGE_INTEGER *timeout)
{
    s64 t = timeout->QuadPart;
    if (hs_bug(HS_BUG_TIMEOUT_NEVER_FIRES))
        return false;
    if (t < 0) {
        s64 interval = -t;
        if (hs_bug(HS_BUG_EARLY_TIMEOUT))
            interval /= 2;
        hrtimer_init(&w->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
        w->timer.function = hs_wait_timeout;
        hrtimer_start(&w->timer, ns_to_ktime(interval * 100), HRTIMER_MODE_REL);
    } else {
        s64 unix100 = t - 116444736000000000LL; /* 100 ns since 1970 */
        hrtimer_init(&w->timer, CLOCK_REALTIME, HRTIMER_MODE_ABS);
        w->timer.function = hs_wait_timeout;
        hrtimer_start(&w->timer, ns_to_ktime(unix100 > 0 ? unix100 * 100 : 0), HRTIMER_MODE_ABS);
    }
    return true;
}

/* The tests before blocking, under the dispatcher lock: STATUS_PENDING means block. */
static NTSTATUS hs_test_wait(struct hs_wait *w, const LARGE_INTEGER *timeout)
{
    NTSTATUS status = hs_test_objects(w);
    if (status == STATUS_PENDING && w->alertable && w->thread)
        status = hs_test_alerts(w->thread, w->mode);
    if (status == STATUS_PENDING && timeout && timeout->QuadPart == 0)
        status = STATUS_TIMEOUT;
    return status;
}

/* Sleeps until w is satisfied, alerted or timed out (whoever ends it sets w->status). */
static NTSTATUS hs_block(struct hs_wait *w, const LARGE_INTEGER *timeout)
{
    bool timed = timeout && hs_arm_timeout(w, timeout);
    for (;;) {
        set_current_state(TASK_IDLE);
        if (smp_load_acquire(&w->done))
            break;
        schedule();
    }
    __set_current_state(TASK_RUNNING);
    if (timed)
        hrtimer_cancel(&w->timer);
    return w->status;
}

NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray)
{
    struct hs_wait w = {.task = current, .thread = hs_current_thread(), .count = Count,
                        .type = WaitType, .mode = WaitMode, .alertable = Alertable};
    KWAIT_BLOCK local[THREAD_WAIT_OBJECTS];
    unsigned long flags;
    ULONG i;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(WaitReason);
    /* A wait that returns at once (a queued user APC, a notification event left set, a poll)
       can make a worker loop without ever blocking; NT preempts it at the end of its quantum,
       a PREEMPT_VOLUNTARY kernel only where the code offers to: here. */
    if (preemptible())
        cond_resched();
    if (Count == 0 || Count > MAXIMUM_WAIT_OBJECTS ||
        (Count > THREAD_WAIT_OBJECTS && !WaitBlockArray))
        KeBugCheckEx(0xC /* MAXIMUM_WAIT_OBJECTS_EXCEEDED */, Count, 0, 0, 0);
    if (WaitType != WaitAll && WaitType != WaitAny)
        return STATUS_INVALID_PARAMETER;
    w.blocks = WaitBlockArray ? WaitBlockArray : w.thread ? w.thread->wait_blocks : local;
    for (i = 0; i < Count; i++) {
        w.blocks[i].Object = (DISPATCHER_HEADER *)Object[i];
        w.blocks[i].Wait = &w;
        w.blocks[i].WaitKey = (USHORT)i;
        INIT_LIST_HEAD(&w.blocks[i].WaitListEntry);
    }
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    status = hs_test_wait(&w, Timeout);
    if (status != STATUS_PENDING) {
        spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
        return status;
    }
    for (i = 0; i < Count; i++)
        list_add_tail(&w.blocks[i].WaitListEntry, &w.blocks[i].Object->WaitListHead);
    if (w.thread)
        w.thread->wait = &w;
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return hs_block(&w, Timeout);
}
EXPORT_SYMBOL(KeWaitForMultipleObjects);

NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    return KeWaitForMultipleObjects(1, &Object, WaitAny, WaitReason, WaitMode, Alertable,
                                    Timeout, NULL);
}
EXPORT_SYMBOL(KeWaitForSingleObject);

/* Relative intervals only keep their length; absolute ones wait for the real-time clock. */
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval)
{
    s64 t = Interval->QuadPart;
    ktime_t until = t < 0 ? ktime_add_ns(ktime_get(), -t * 100)
                          : ns_to_ktime(max_t(s64, t - 116444736000000000LL, 0) * 100);
    clockid_t clock = t < 0 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    UNREFERENCED_PARAMETER(WaitMode);
    UNREFERENCED_PARAMETER(Alertable);
    do {
        set_current_state(TASK_IDLE);
    } while (schedule_hrtimeout_range_clock(&until, 0, HRTIMER_MODE_ABS, clock));
    return STATUS_SUCCESS;
}
EXPORT_SYMBOL(KeDelayExecutionThread);

BOOLEAN KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode)
{
    unsigned long flags;
    struct hs_wait *w;
    BOOLEAN previous;
    if (hs_bug(HS_BUG_ALERT_IGNORED) || AlertMode < KernelMode || AlertMode > UserMode)
        return FALSE;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    previous = Thread->alerted[AlertMode];
    w = Thread->wait;
    if (!previous) {
        if (w && w->alertable && AlertMode <= w->mode)
            hs_unwait(w, STATUS_ALERTED);
        else
            Thread->alerted[AlertMode] = TRUE;
    }
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return previous;
}
EXPORT_SYMBOL(KeAlertThread);

VOID KeInitializeApc(PKAPC Apc, PKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                     PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                     PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                     PVOID NormalContext)
{
    UNREFERENCED_PARAMETER(Environment);
    INIT_LIST_HEAD(&Apc->ApcListEntry);
    Apc->Thread = Thread;
    Apc->KernelRoutine = KernelRoutine;
    Apc->RundownRoutine = RundownRoutine;
    Apc->NormalRoutine = NormalRoutine;
    Apc->NormalContext = NormalContext;
    Apc->ApcMode = ApcMode;
    Apc->Inserted = FALSE;
}
EXPORT_SYMBOL(KeInitializeApc);

/* User-mode APCs only (kernel-mode APCs are not modelled: FALSE). */
BOOLEAN KeInsertQueueApc(PKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment)
{
    PKTHREAD t = Apc->Thread;
    unsigned long flags;
    struct hs_wait *w;
    BOOLEAN inserted = FALSE;
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    UNREFERENCED_PARAMETER(Increment);
    if (Apc->ApcMode != UserMode || !t)
        return FALSE;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    if (!Apc->Inserted && !t->exiting) {
        list_add_tail(&Apc->ApcListEntry, &t->user_apcs);
        Apc->Inserted = inserted = TRUE;
        w = t->wait;
        if (w && w->alertable && w->mode == UserMode)
            hs_unwait(w, STATUS_USER_APC);
    }
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    return inserted;
}
EXPORT_SYMBOL(KeInsertQueueApc);

void hs_rundown_apcs(PKTHREAD t)
{
    LIST_HEAD(apcs);
    unsigned long flags;
    PKAPC apc, next;
    spin_lock_irqsave(&hs_dispatcher_lock, flags);
    t->exiting = TRUE;
    list_splice_init(&t->user_apcs, &apcs);
    spin_unlock_irqrestore(&hs_dispatcher_lock, flags);
    list_for_each_entry_safe(apc, next, &apcs, ApcListEntry) {
        list_del_init(&apc->ApcListEntry);
        apc->Inserted = FALSE;
        if (apc->RundownRoutine)
            apc->RundownRoutine(apc);
    }
}
