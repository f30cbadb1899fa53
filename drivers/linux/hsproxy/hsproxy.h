/*
 * hsproxy.h: what hsproxy.ko exports, in the Windows names and types.
 *
 * hsproxy is the Linux stand-in for the part of the Windows kernel the DriverProxy contract
 * lives in (docs/driverproxy.md): kernel events and
 * KeWaitForMultipleObjects, alerts and user APCs, system threads with thread objects and
 * handles, thread-notify routines, and the DriverProxy routines themselves (extensions,
 * endpoint wrappers that count calls in flight, re-registration as the swap, the
 * hot-swappable worker thread). It implements the NT subset the shared hsprobe source
 * (drivers/hsprobe) is written against, so that source runs unchanged on Linux.
 *
 * It is a model of the documented contract, not of Windows: nothing measured on it is a
 * fact about Windows' implementation.
 */
#ifndef HSPROXY_H
#define HSPROXY_H

#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>

/* -- types ---------------------------------------------------------------------------- */
#define VOID void
typedef s8 CHAR;
typedef u8 UCHAR, BOOLEAN, KIRQL;
typedef u16 USHORT;
typedef s32 LONG, NTSTATUS;
typedef u32 ULONG, ACCESS_MASK;
typedef s64 LONGLONG;
typedef u64 ULONGLONG, ULONG64, *PULONG64;
typedef unsigned long ULONG_PTR;
typedef size_t SIZE_T;
typedef void *PVOID, *HANDLE, **PHANDLE;
typedef CHAR KPROCESSOR_MODE;
typedef LONG KPRIORITY;

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    };
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef struct _CLIENT_ID {
    HANDLE UniqueProcess;
    HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

/* accepted and ignored: hsproxy's handles are kernel handles to thread objects */
typedef struct _OBJECT_ATTRIBUTES {
    ULONG Attributes;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
#define InitializeObjectAttributes(p, n, a, r, s) ((p)->Attributes = (a))
#define OBJ_CASE_INSENSITIVE 0x40
#define OBJ_KERNEL_HANDLE 0x200
typedef struct _OBJECT_TYPE *POBJECT_TYPE;
extern POBJECT_TYPE *PsThreadType;

#ifndef TRUE
#define TRUE 1
#define FALSE 0
#endif
#define KernelMode 0
#define UserMode 1
#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define HIGH_LEVEL 15
#define IO_NO_INCREMENT 0
#define SYNCHRONIZE 0x00100000u
#define THREAD_ALL_ACCESS 0x001FFFFFu
#define THREAD_WAIT_OBJECTS 3
#define MAXIMUM_WAIT_OBJECTS 64

typedef enum _WAIT_TYPE { WaitAll = 0, WaitAny = 1 } WAIT_TYPE;
typedef enum _KWAIT_REASON { Executive = 0, UserRequest = 6, MaximumWaitReason = 44 } KWAIT_REASON;
typedef enum _EVENT_TYPE { NotificationEvent = 0, SynchronizationEvent = 1 } EVENT_TYPE;

#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#define STATUS_SUCCESS ((NTSTATUS)0x00000000)
#define STATUS_WAIT_0 ((NTSTATUS)0x00000000)
#define STATUS_USER_APC ((NTSTATUS)0x000000C0)
#define STATUS_KERNEL_APC ((NTSTATUS)0x00000100)
#define STATUS_ALERTED ((NTSTATUS)0x00000101)
#define STATUS_TIMEOUT ((NTSTATUS)0x00000102)
#define STATUS_PENDING ((NTSTATUS)0x00000103)
#define STATUS_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define STATUS_NOT_IMPLEMENTED ((NTSTATUS)0xC0000002)
#define STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008)
#define STATUS_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010)
#define STATUS_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define STATUS_REVISION_MISMATCH ((NTSTATUS)0xC0000059)
#define STATUS_PROCEDURE_NOT_FOUND ((NTSTATUS)0xC000007A)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define STATUS_DEVICE_NOT_READY ((NTSTATUS)0xC00000A3)
#define STATUS_NOT_SUPPORTED ((NTSTATUS)0xC00000BB)
#define STATUS_INVALID_PARAMETER_2 ((NTSTATUS)0xC00000F0)
#define STATUS_INVALID_PARAMETER_3 ((NTSTATUS)0xC00000F1)
#define STATUS_NOT_FOUND ((NTSTATUS)0xC0000225)
#define STATUS_DRIVER_BLOCKED ((NTSTATUS)0xC000036C)
#define STATUS_RESOURCE_IN_USE ((NTSTATUS)0xC0000708)

#define FIELD_OFFSET(type, field) offsetof(type, field)
#define CONTAINING_RECORD(p, type, field) container_of(p, type, field)
#define UNREFERENCED_PARAMETER(p) ((void)(p))
#define RtlZeroMemory(p, n) memset((p), 0, (n))
#define RtlCopyMemory(d, s, n) memcpy((d), (s), (n))

/* wdm.h's doubly linked list */
typedef struct _LIST_ENTRY {
    struct _LIST_ENTRY *Flink, *Blink;
} LIST_ENTRY, *PLIST_ENTRY;

static inline void InitializeListHead(PLIST_ENTRY head)
{
    head->Flink = head->Blink = head;
}

static inline BOOLEAN IsListEmpty(const LIST_ENTRY *head)
{
    return head->Flink == head;
}

static inline void InsertTailList(PLIST_ENTRY head, PLIST_ENTRY e)
{
    e->Flink = head;
    e->Blink = head->Blink;
    head->Blink->Flink = e;
    head->Blink = e;
}

static inline PLIST_ENTRY RemoveHeadList(PLIST_ENTRY head)
{
    PLIST_ENTRY e = head->Flink;
    head->Flink = e->Flink;
    e->Flink->Blink = head;
    return e;
}

#define InterlockedIncrement(p) __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define InterlockedDecrement(p) __atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)
#define InterlockedExchange(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* -- dispatcher objects, waits, alerts, APCs (dispatcher.c) ---------------------------- */
typedef struct _DISPATCHER_HEADER {
    LONG Type; /* HS_OBJECT_* */
    LONG SignalState;
    struct list_head WaitListHead; /* KWAIT_BLOCKs of the threads waiting on it */
} DISPATCHER_HEADER;

typedef struct _KEVENT {
    DISPATCHER_HEADER Header;
} KEVENT, *PKEVENT, *PRKEVENT;

struct hs_wait;
typedef struct _KWAIT_BLOCK {
    struct list_head WaitListEntry;
    struct hs_wait *Wait;
    DISPATCHER_HEADER *Object;
    USHORT WaitKey; /* the object's index in the wait */
} KWAIT_BLOCK, *PKWAIT_BLOCK;

typedef struct _KTHREAD KTHREAD, *PKTHREAD, *PRKTHREAD, ETHREAD, *PETHREAD;

typedef struct _KAPC KAPC, *PKAPC;
typedef VOID (*PKNORMAL_ROUTINE)(PVOID NormalContext, PVOID SystemArgument1,
                                 PVOID SystemArgument2);
typedef VOID (*PKKERNEL_ROUTINE)(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                 PVOID *NormalContext, PVOID *SystemArgument1,
                                 PVOID *SystemArgument2);
typedef VOID (*PKRUNDOWN_ROUTINE)(PKAPC Apc);
typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment,
    AttachedApcEnvironment,
    CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;
struct _KAPC {
    struct list_head ApcListEntry;
    PKTHREAD Thread;
    PKKERNEL_ROUTINE KernelRoutine;
    PKRUNDOWN_ROUTINE RundownRoutine;
    PKNORMAL_ROUTINE NormalRoutine;
    PVOID NormalContext;
    KPROCESSOR_MODE ApcMode;
    BOOLEAN Inserted;
};

VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State);
LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait);
VOID KeClearEvent(PRKEVENT Event);
LONG KeResetEvent(PRKEVENT Event);
LONG KeReadStateEvent(PRKEVENT Event);
NTSTATUS KeWaitForMultipleObjects(ULONG Count, PVOID Object[], WAIT_TYPE WaitType,
                                  KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                                  BOOLEAN Alertable, PLARGE_INTEGER Timeout,
                                  PKWAIT_BLOCK WaitBlockArray);
NTSTATUS KeWaitForSingleObject(PVOID Object, KWAIT_REASON WaitReason, KPROCESSOR_MODE WaitMode,
                               BOOLEAN Alertable, PLARGE_INTEGER Timeout);
NTSTATUS KeDelayExecutionThread(KPROCESSOR_MODE WaitMode, BOOLEAN Alertable,
                                PLARGE_INTEGER Interval);
BOOLEAN KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode);
VOID KeInitializeApc(PKAPC Apc, PKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                     PKKERNEL_ROUTINE KernelRoutine, PKRUNDOWN_ROUTINE RundownRoutine,
                     PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                     PVOID NormalContext);
BOOLEAN KeInsertQueueApc(PKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                         KPRIORITY Increment);
/* the IRQL analogue of the current context (drivers/README.md, "IRQL on Linux") */
KIRQL KeGetCurrentIrql(void);
VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
ULONG64 KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp);
/* panics with the code: what a bug check is on Linux (pvpanic reports it) */
void KeBugCheckEx(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
    __attribute__((noreturn));

/* -- threads, handles, thread notify (thread.c) ----------------------------------------- */
typedef VOID KSTART_ROUTINE(PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;
typedef VOID (*PCREATE_THREAD_NOTIFY_ROUTINE)(HANDLE ProcessId, HANDLE ThreadId,
                                              BOOLEAN Create);

NTSTATUS PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess,
                              POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle,
                              PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                              PVOID StartContext);
NTSTATUS PsTerminateSystemThread(NTSTATUS ExitStatus);
HANDLE PsGetCurrentThreadId(void);
PETHREAD PsGetCurrentThread(void); /* NULL on a thread hsproxy did not create */
NTSTATUS PsGetThreadExitStatus(PETHREAD Thread);
NTSTATUS PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);
NTSTATUS PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine);
NTSTATUS ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess,
                                   POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                   PVOID *Object, PVOID HandleInformation);
VOID ObDereferenceObject(PVOID Object); /* thread objects */
NTSTATUS ZwClose(HANDLE Handle);
NTSTATUS ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable, PLARGE_INTEGER Timeout);
/* the task_struct the thread runs as: what a debugger sees as the current task */
ULONG64 HsThreadTask(PKTHREAD Thread);

/* -- driver objects (driver.c): Linux has none, so hsproxy keeps them, by name ----------- */
typedef struct _DRIVER_OBJECT DRIVER_OBJECT, *PDRIVER_OBJECT;
PDRIVER_OBJECT HsCreateDriverObject(const char *name, struct module *owner);
/* the driver goes: its DriverProxy extension with it */
VOID HsDeleteDriverObject(PDRIVER_OBJECT Driver);
PDRIVER_OBJECT HsReferenceDriverObject(const char *name); /* NULL when not loaded */
VOID HsDereferenceDriverObject(PDRIVER_OBJECT Driver);
/* what Windows reaches through the driver's device extension */
VOID HsSetDriverContext(PDRIVER_OBJECT Driver, PVOID Context);
PVOID HsGetDriverContext(PDRIVER_OBJECT Driver);

/* -- DriverProxy (proxy.c, worker.c), docs/driverproxy.md section 1 ---------------------- */
#include "hsp_driverproxy.h"

VOID IoGetDriverProxyFeatures(PDRIVER_OBJECT DriverObject, PDRIVER_PROXY_FEATURE_FLAGS Flags);
NTSTATUS IoCreateDriverProxyExtension(PDRIVER_OBJECT OwningDriverObject, ULONG Flags,
                                      PDRIVER_PROXY_EXTENSION *Extension);
PDRIVER_PROXY_EXTENSION IoGetDriverProxyExtensionFromDriverObject(PDRIVER_OBJECT DriverObject);
NTSTATUS IoRegisterDriverProxyEndpoints(PDRIVER_PROXY_EXTENSION Extension,
                                        PDRIVER_PROXY_ENDPOINT_INFORMATION Endpoints,
                                        ULONG EndpointCount,
                                        PDRIVER_PROXY_REGISTER_CALLBACK Callback, PVOID Context);
PVOID IoGetDriverProxyEndpointWrapper(PDRIVER_PROXY_EXTENSION Extension, ULONG FunctionId);
NTSTATUS IofGetDriverProxyWrapperFromEndpoint(PDRIVER_PROXY_EXTENSION Extension, PVOID Endpoint,
                                              PVOID *Wrapper);
NTSTATUS IoDriverProxyCreateHotSwappableWorkerThread(
    PDRIVER_PROXY_EXTENSION Extension, PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle, PCLIENT_ID ClientId,
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT StartContext);

#endif
