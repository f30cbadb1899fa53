/*
 * worker.c: IoDriverProxyCreateHotSwappableWorkerThread and the loop of the thread it makes
 * (docs/driverproxy.md sections 1 and 3).
 *
 * The create call validates the start context (a wrapper of this extension as routine, 1 to
 * 64 events, a known WaitType, WaitMode and WaitReason, no NULL event) and copies it, so the
 * caller may free it at once. The thread then waits on the events with the configured wait,
 * calls the routine through its wrapper with the wait's status (re-reading the endpoint on
 * every call, so a swap takes effect at the next one), and ends or goes on according to the
 * return-value convention chosen by the `convention` module parameter.
 */
#include <linux/slab.h>

#include "internal.h"

struct hs_worker {
    struct list_head link; /* in the extension's workers */
    PDRIVER_PROXY_EXTENSION ext;
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT ctx; /* our copy */
    PKWAIT_BLOCK blocks; /* EventCount > THREAD_WAIT_OBJECTS */
    int recreate;        /* the swap-recreates-thread bug: go on as a new task */
};

static NTSTATUS hs_validate(PDRIVER_PROXY_EXTENSION ext,
                            const DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT *c)
{
    ULONG i;
    if (!c->WorkerRoutine)
        return STATUS_INVALID_PARAMETER;
    if (hs_wrapper_index(ext, (PVOID)c->WorkerRoutine) < 0 && !hs_bug(HS_BUG_RAW_ROUTINE_ACCEPTED))
        return STATUS_INVALID_PARAMETER; /* the raw function, not a registered wrapper */
    if ((c->EventCount == 0 || c->EventCount > MAXIMUM_WAIT_OBJECTS) &&
        !hs_bug(HS_BUG_BAD_PARAMETERS_ACCEPTED))
        return STATUS_INVALID_PARAMETER;
    if (c->WaitType != WaitAll && c->WaitType != WaitAny)
        return STATUS_INVALID_PARAMETER;
    if (c->WaitMode != KernelMode && c->WaitMode != UserMode)
        return STATUS_INVALID_PARAMETER;
    if ((ULONG)c->WaitReason >= MaximumWaitReason)
        return STATUS_INVALID_PARAMETER;
    for (i = 0; i < c->EventCount && i < MAXIMUM_WAIT_OBJECTS + 1; i++)
        if (!c->Events[i])
            return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

static bool hs_ends(BOOLEAN returned)
{
    bool ends = hs_convention == HS_DOCUMENTED ? !returned : returned;
    if (hs_bug(HS_BUG_CONVENTION_FLIPPED))
        ends = !ends;
    if (hs_bug(HS_BUG_RETURN_IGNORED))
        ends = false;
    return ends;
}

static VOID hs_worker_loop(PVOID unused)
{
    PKTHREAD t = hs_current_thread();
    struct hs_worker *wk = t->worker;
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT c = wk->ctx;
    NTSTATUS status;
    for (;;) {
        if (READ_ONCE(wk->recreate)) {
            WRITE_ONCE(wk->recreate, 0);
            hs_thread_recreate(t); /* returns only when no new task could be made */
        }
        status = KeWaitForMultipleObjects(c->EventCount, (PVOID *)c->Events, c->WaitType,
                                          c->WaitReason, c->WaitMode, c->Altertable,
                                          c->HasTimeout ? &c->Timeout : NULL, wk->blocks);
        if (hs_ends(c->WorkerRoutine(c->Context, status)))
            return;
    }
}

bool hs_worker_raises(PKTHREAD t)
{
    return t && t->worker && hs_bug(HS_BUG_DISPATCH_LEVEL);
}

void hs_worker_add(PDRIVER_PROXY_EXTENSION ext, struct list_head *link)
{
    unsigned long flags;
    spin_lock_irqsave(&ext->lock, flags);
    list_add_tail(link, &ext->workers);
    spin_unlock_irqrestore(&ext->lock, flags);
}

void hs_worker_remove(PDRIVER_PROXY_EXTENSION ext, struct list_head *link)
{
    unsigned long flags;
    spin_lock_irqsave(&ext->lock, flags);
    list_del_init(link);
    spin_unlock_irqrestore(&ext->lock, flags);
}

void hs_workers_recreate(PDRIVER_PROXY_EXTENSION ext)
{
    struct hs_worker *wk;
    unsigned long flags;
    spin_lock_irqsave(&ext->lock, flags);
    list_for_each_entry(wk, &ext->workers, link)
        WRITE_ONCE(wk->recreate, 1);
    spin_unlock_irqrestore(&ext->lock, flags);
}

static void hs_worker_free(struct hs_worker *wk)
{
    kfree(wk->blocks);
    kfree(wk->ctx);
    kfree(wk);
}

void hs_worker_done(PKTHREAD t)
{
    struct hs_worker *wk = t->worker;
    hs_worker_remove(wk->ext, &wk->link);
    t->worker = NULL;
    hs_worker_free(wk);
}

NTSTATUS IoDriverProxyCreateHotSwappableWorkerThread(
    PDRIVER_PROXY_EXTENSION Extension, PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle, PCLIENT_ID ClientId,
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT StartContext)
{
    struct hs_worker *wk;
    size_t size;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(DesiredAccess);
    UNREFERENCED_PARAMETER(ObjectAttributes);
    UNREFERENCED_PARAMETER(ProcessHandle);
    if (hs_feature != HS_FEATURE_ENABLED)
        return STATUS_NOT_SUPPORTED;
    if (!Extension || !ThreadHandle || !StartContext)
        return STATUS_INVALID_PARAMETER;
    status = hs_validate(Extension, StartContext);
    if (!NT_SUCCESS(status))
        return status;
    wk = kzalloc(sizeof *wk, GFP_KERNEL);
    size = offsetof(DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT, Events) +
           sizeof(PKEVENT) * (size_t)StartContext->EventCount;
    if (!wk || !(wk->ctx = kmemdup(StartContext, size, GFP_KERNEL)) ||
        (StartContext->EventCount > THREAD_WAIT_OBJECTS &&
         !(wk->blocks = kcalloc(StartContext->EventCount, sizeof(KWAIT_BLOCK), GFP_KERNEL)))) {
        if (wk)
            hs_worker_free(wk);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    wk->ext = Extension;
    hs_worker_add(Extension, &wk->link);
    status = hs_thread_start(hs_worker_loop, NULL, wk, ThreadHandle, ClientId);
    if (!NT_SUCCESS(status)) {
        hs_worker_remove(Extension, &wk->link);
        hs_worker_free(wk);
    }
    return status;
}
EXPORT_SYMBOL(IoDriverProxyCreateHotSwappableWorkerThread);
