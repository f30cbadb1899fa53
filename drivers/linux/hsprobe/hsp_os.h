/*
 * hsp_os.h (Linux): the NT kernel interface the shared hsprobe source is written against
 * comes from hsproxy.ko (hsproxy.h); this file adds the primitives whose shape differs from
 * Windows (drivers/hsprobe/windows/hsp_os.h).
 */
#ifndef HSP_OS_H
#define HSP_OS_H

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "hsproxy.h"

/* SAL annotations are Windows' business (Code Analysis, Static Driver Verifier) */
#define _IRQL_requires_max_(irql)
#define _Function_class_(name)

/* a plain global: kallsyms lists module functions, so hsprobe!HspWorkerRoutine resolves */
#define HSP_EXPORT

typedef spinlock_t HSP_SPINLOCK;
typedef unsigned long HSP_LOCK_STATE;
typedef struct mutex HSP_MUTEX;

static inline void HspLockInit(HSP_SPINLOCK *lock)
{
    spin_lock_init(lock);
}

static inline HSP_LOCK_STATE HspLockAcquire(HSP_SPINLOCK *lock)
{
    unsigned long flags;
    spin_lock_irqsave(lock, flags);
    return flags;
}

static inline void HspLockRelease(HSP_SPINLOCK *lock, HSP_LOCK_STATE flags)
{
    spin_unlock_irqrestore(lock, flags);
}

static inline void HspMutexInit(HSP_MUTEX *m)
{
    mutex_init(m);
}

static inline void HspMutexAcquire(HSP_MUTEX *m)
{
    mutex_lock(m);
}

static inline void HspMutexRelease(HSP_MUTEX *m)
{
    mutex_unlock(m);
}

/* zeroed; the shared block with its ring is ~420 KiB, hence kvzalloc */
static inline PVOID HspAlloc(SIZE_T size)
{
    return kvzalloc(size, GFP_KERNEL);
}

static inline void HspFree(PVOID p)
{
    kvfree(p);
}

/* the task_struct address: what a debugger finds as the CPU's current task */
static inline ULONG64 HspThreadObject(PKTHREAD thread)
{
    return HsThreadTask(thread);
}

static inline ULONG64 HspCurrentThreadObject(void)
{
    return (ULONG64)(ULONG_PTR)current;
}

#endif
