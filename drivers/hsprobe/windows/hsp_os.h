/*
 * hsp_os.h (Windows): the NT kernel interface the shared hsprobe source is written against is
 * the real one here (ntddk.h, plus driverproxy.h for what mingw-w64's DDK lacks); this file
 * adds the few primitives whose shape differs on Linux (drivers/linux/hsprobe/hsp_os.h).
 */
#ifndef HSP_OS_H
#define HSP_OS_H

#include "driverproxy.h"

/* SAL role types and IRQL annotations, as in the WDK samples, so that the WDK build runs
   Code Analysis and Static Driver Verifier over them; mingw-w64 defines them as nothing or
   lacks them, and then they are nothing. */
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(irql)
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _Function_class_
#define _Function_class_(name)
#endif

#define HSP_EXPORT __declspec(dllexport)
#define HSP_TAG 0x20707348u /* 'Hsp ' as pool tools show it */
#define HSP_POOL_FLAG_NON_PAGED 0x0000000000000040ULL

#ifndef STATUS_PROCEDURE_NOT_FOUND
#define STATUS_PROCEDURE_NOT_FOUND ((NTSTATUS)0xC000007AL)
#endif

typedef KSPIN_LOCK HSP_SPINLOCK;
typedef KIRQL HSP_LOCK_STATE;
typedef KMUTEX HSP_MUTEX;

static __inline void HspLockInit(HSP_SPINLOCK *lock)
{
    KeInitializeSpinLock(lock);
}

_IRQL_requires_max_(DISPATCH_LEVEL) static __inline HSP_LOCK_STATE HspLockAcquire(HSP_SPINLOCK *lock)
{
    KIRQL irql;
    KeAcquireSpinLock(lock, &irql);
    return irql;
}

static __inline void HspLockRelease(HSP_SPINLOCK *lock, HSP_LOCK_STATE irql)
{
    KeReleaseSpinLock(lock, irql);
}

static __inline void HspMutexInit(HSP_MUTEX *mutex)
{
    KeInitializeMutex(mutex, 0);
}

_IRQL_requires_max_(APC_LEVEL) static __inline void HspMutexAcquire(HSP_MUTEX *mutex)
{
    KeWaitForSingleObject(mutex, Executive, KernelMode, FALSE, NULL);
}

static __inline void HspMutexRelease(HSP_MUTEX *mutex)
{
    KeReleaseMutex(mutex, FALSE);
}

/* zeroed non-paged memory */
static __inline PVOID HspAlloc(SIZE_T size)
{
    return ExAllocatePool2(HSP_POOL_FLAG_NON_PAGED, size, HSP_TAG);
}

static __inline void HspFree(PVOID p)
{
    ExFreePoolWithTag(p, HSP_TAG);
}

/* the thread object address the telemetry carries: what a debugger finds as the current
   thread (KPCR.Prcb.CurrentThread) */
static __inline ULONG64 HspThreadObject(PKTHREAD thread)
{
    return (ULONG64)(ULONG_PTR)thread;
}

static __inline ULONG64 HspCurrentThreadObject(void)
{
    return (ULONG64)(ULONG_PTR)PsGetCurrentThread();
}

#endif
