/*
 * thread.c: system threads as NT has them: a thread object that is a dispatcher object
 * (signalled when the thread ends), handles that are references to it, an exit status,
 * thread-notify routines called on exit in the exiting thread, and queued user APCs run down
 * at exit. Each is a kthread; its task_struct is what a debugger sees as the current task.
 */
#include <linux/kthread.h>
#include <linux/rwsem.h>
#include <linux/slab.h>

#include "internal.h"

#define HS_NOTIFY_SLOTS 8

static DECLARE_RWSEM(hs_notify_lock);
static PCREATE_THREAD_NOTIFY_ROUTINE hs_notify[HS_NOTIFY_SLOTS];
static atomic_t hs_thread_names = ATOMIC_INIT(0);

static int hs_thread_main(void *arg)
{
    PKTHREAD t = arg;
    t->start(t->context);
    hs_thread_exit(t, STATUS_SUCCESS);
}

PKTHREAD hs_current_thread(void)
{
    if (!(current->flags & PF_KTHREAD) || kthread_func(current) != (void *)hs_thread_main)
        return NULL;
    return kthread_data(current);
}

static void hs_notify_all(pid_t tid, BOOLEAN create)
{
    int i;
    down_read(&hs_notify_lock);
    for (i = 0; i < HS_NOTIFY_SLOTS; i++)
        if (hs_notify[i])
            hs_notify[i](NULL, (HANDLE)(ULONG_PTR)tid, create);
    up_read(&hs_notify_lock);
}

static struct task_struct *hs_task_for(PKTHREAD t)
{
    return kthread_create(hs_thread_main, t, "%s/%d", t->worker ? "hsworker" : "hssystem",
                          atomic_inc_return(&hs_thread_names));
}

NTSTATUS hs_thread_start(PKSTART_ROUTINE start, PVOID context, struct hs_worker *worker,
                         PHANDLE handle, PCLIENT_ID cid)
{
    PKTHREAD t = kzalloc(sizeof *t, GFP_KERNEL);
    struct task_struct *task;
    if (!t)
        return STATUS_INSUFFICIENT_RESOURCES;
    t->Header.Type = HS_OBJECT_THREAD;
    INIT_LIST_HEAD(&t->Header.WaitListHead);
    refcount_set(&t->refs, 2); /* the thread, and the caller's handle */
    INIT_LIST_HEAD(&t->user_apcs);
    t->start = start;
    t->context = context;
    t->worker = worker;
    t->exit_status = STATUS_PENDING;
    task = hs_task_for(t);
    if (IS_ERR(task)) {
        kfree(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    t->task = task;
    t->tid = task->pid;
    __module_get(THIS_MODULE); /* the thread runs hsproxy code until its very end */
    *handle = t;
    if (cid) {
        cid->UniqueProcess = NULL;
        cid->UniqueThread = (HANDLE)(ULONG_PTR)t->tid;
    }
    hs_notify_all(t->tid, TRUE);
    wake_up_process(task);
    return STATUS_SUCCESS;
}

void hs_thread_exit(PKTHREAD t, NTSTATUS status)
{
    t->exit_status = status;
    hs_notify_all(t->tid, FALSE);
    hs_rundown_apcs(t);
    if (t->worker)
        hs_worker_done(t);
    hs_signal_object(&t->Header);
    ObDereferenceObject(t);
    module_put_and_kthread_exit(0);
}

/* The swap-recreates-thread bug: this task ends (its exit is notified) and a new one carries
   on the same thread object and loop. If no task can be made, the old one goes on. */
void hs_thread_recreate(PKTHREAD t)
{
    struct task_struct *next = hs_task_for(t);
    if (IS_ERR(next))
        return;
    t->exit_status = STATUS_SUCCESS;
    hs_notify_all(t->tid, FALSE);
    t->exit_status = STATUS_PENDING;
    t->task = next;
    t->tid = next->pid;
    __module_get(THIS_MODULE);
    hs_notify_all(t->tid, TRUE);
    wake_up_process(next);
    module_put_and_kthread_exit(0);
}

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                              PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                              PVOID StartContext)
{
    UNREFERENCED_PARAMETER(DesiredAccess);
    UNREFERENCED_PARAMETER(ObjectAttributes);
    UNREFERENCED_PARAMETER(ProcessHandle);
    if (!ThreadHandle || !StartRoutine)
        return STATUS_INVALID_PARAMETER;
    return hs_thread_start(StartRoutine, StartContext, NULL, ThreadHandle, ClientId);
}
EXPORT_SYMBOL(PsCreateSystemThread);

NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    PKTHREAD t = hs_current_thread();
    if (!t)
        return STATUS_INVALID_PARAMETER;
    hs_thread_exit(t, ExitStatus);
}
EXPORT_SYMBOL(PsTerminateSystemThread);

HANDLE PsGetCurrentThreadId(void)
{
    return (HANDLE)(ULONG_PTR)current->pid;
}
EXPORT_SYMBOL(PsGetCurrentThreadId);

PETHREAD PsGetCurrentThread(void)
{
    return hs_current_thread();
}
EXPORT_SYMBOL(PsGetCurrentThread);

NTSTATUS PsGetThreadExitStatus(PETHREAD Thread)
{
    return Thread ? Thread->exit_status : STATUS_INVALID_PARAMETER;
}
EXPORT_SYMBOL(PsGetThreadExitStatus);

NTSTATUS PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    NTSTATUS status = STATUS_INSUFFICIENT_RESOURCES;
    int i;
    down_write(&hs_notify_lock);
    for (i = 0; i < HS_NOTIFY_SLOTS && status != STATUS_SUCCESS; i++)
        if (!hs_notify[i]) {
            hs_notify[i] = NotifyRoutine;
            status = STATUS_SUCCESS;
        }
    up_write(&hs_notify_lock);
    return status;
}
EXPORT_SYMBOL(PsSetCreateThreadNotifyRoutine);

/* Once it returns, the routine is not running and will not be called again. */
NTSTATUS PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    NTSTATUS status = STATUS_PROCEDURE_NOT_FOUND;
    int i;
    down_write(&hs_notify_lock);
    for (i = 0; i < HS_NOTIFY_SLOTS; i++)
        if (hs_notify[i] == NotifyRoutine) {
            hs_notify[i] = NULL;
            status = STATUS_SUCCESS;
            break;
        }
    up_write(&hs_notify_lock);
    return status;
}
EXPORT_SYMBOL(PsRemoveCreateThreadNotifyRoutine);

NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID *Object, PVOID HandleInformation)
{
    PKTHREAD t = Handle;
    UNREFERENCED_PARAMETER(DesiredAccess);
    UNREFERENCED_PARAMETER(ObjectType);
    UNREFERENCED_PARAMETER(AccessMode);
    UNREFERENCED_PARAMETER(HandleInformation);
    if (!t || t->Header.Type != HS_OBJECT_THREAD)
        return STATUS_INVALID_HANDLE;
    refcount_inc(&t->refs);
    *Object = t;
    return STATUS_SUCCESS;
}
EXPORT_SYMBOL(ObReferenceObjectByHandle);

VOID ObDereferenceObject(PVOID Object)
{
    PKTHREAD t = Object;
    if (refcount_dec_and_test(&t->refs))
        kfree(t);
}
EXPORT_SYMBOL(ObDereferenceObject);

NTSTATUS ZwClose(HANDLE Handle)
{
    if (!Handle)
        return STATUS_INVALID_HANDLE;
    ObDereferenceObject(Handle);
    return STATUS_SUCCESS;
}
EXPORT_SYMBOL(ZwClose);

NTSTATUS ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout)
{
    if (!Handle)
        return STATUS_INVALID_HANDLE;
    return KeWaitForSingleObject(Handle, Executive, KernelMode, Alertable, Timeout);
}
EXPORT_SYMBOL(ZwWaitForSingleObject);

ULONG64 HsThreadTask(PKTHREAD Thread)
{
    return Thread ? (ULONG64)(ULONG_PTR)Thread->task : 0;
}
EXPORT_SYMBOL(HsThreadTask);
