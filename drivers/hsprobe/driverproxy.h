/*
 * driverproxy.h: the DriverProxy API as docs/driverproxy.md section 1 gives it.
 *
 * mingw-w64's DDK predates the feature, so hsprobe declares it here; with the WDK 10.0.26100+
 * wdm.h already has these and HSP_HAVE_WDK_DRIVERPROXY skips this file's copies. The import
 * entries come from ntoskrnl-extra.def (Makefile) or NtosKrnl.lib (WDK).
 */
#ifndef HSP_DRIVERPROXY_H
#define HSP_DRIVERPROXY_H

#include <ntddk.h>

#ifndef HSP_HAVE_WDK_DRIVERPROXY

typedef struct _DRIVER_PROXY_EXTENSION *PDRIVER_PROXY_EXTENSION; /* opaque */

typedef union _DRIVER_PROXY_FEATURE_FLAGS {
    struct {
        ULONG Enabled : 1;
        ULONG Reserved : 31;
    };
    ULONG AsUlong;
} DRIVER_PROXY_FEATURE_FLAGS, *PDRIVER_PROXY_FEATURE_FLAGS;

typedef enum _DRIVER_PROXY_REGISTER_CALLBACK_REASON {
    DriverProxyRegisterCallbackPreProcess = 0,
    DriverProxyRegisterCallbackProxyStalled = 1,
    DriverProxyRegisterCallbackPostProcess = 2
} DRIVER_PROXY_REGISTER_CALLBACK_REASON;

typedef NTSTATUS (*PDRIVER_PROXY_REGISTER_CALLBACK)(DRIVER_PROXY_REGISTER_CALLBACK_REASON Reason,
                                                    PVOID Context);

/* 0x18 bytes on x64: Id +0, function +8, ParameterCount +0x10 */
typedef struct _DRIVER_PROXY_ENDPOINT_INFORMATION {
    ULONG Id;
    PVOID Function;
    ULONG ParameterCount;
} DRIVER_PROXY_ENDPOINT_INFORMATION, *PDRIVER_PROXY_ENDPOINT_INFORMATION;

typedef BOOLEAN (*PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE)(PVOID WorkerContext, NTSTATUS WaitStatus);

/* size = 0x30 + 8 * EventCount; "Altertable" is the real header's spelling */
typedef struct _DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT {
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE WorkerRoutine;
    PVOID Context;
    WAIT_TYPE WaitType;
    KWAIT_REASON WaitReason;
    KPROCESSOR_MODE WaitMode;
    BOOLEAN Altertable;
    BOOLEAN HasTimeout;
    LARGE_INTEGER Timeout;
    ULONG EventCount;
    PKEVENT Events[];
} DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT,
    *PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT;

_Static_assert(sizeof(DRIVER_PROXY_ENDPOINT_INFORMATION) == 0x18, "endpoint info layout");
_Static_assert(offsetof(DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT, Altertable) == 0x19,
               "start context layout");
_Static_assert(offsetof(DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT, Timeout) == 0x20,
               "start context layout");
_Static_assert(offsetof(DRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT, Events) == 0x30,
               "start context layout");

/* The return type is undocumented; reading the flags from the out parameter works whatever
   it is, so hsprobe declares VOID and never trusts a return value it may not get. */
NTKERNELAPI VOID IoGetDriverProxyFeatures(PDRIVER_OBJECT DriverObject,
                                          PDRIVER_PROXY_FEATURE_FLAGS Flags);
NTKERNELAPI NTSTATUS IoCreateDriverProxyExtension(PDRIVER_OBJECT OwningDriverObject, ULONG Flags,
                                                  PDRIVER_PROXY_EXTENSION *Extension);
NTKERNELAPI PDRIVER_PROXY_EXTENSION
IoGetDriverProxyExtensionFromDriverObject(PDRIVER_OBJECT DriverObject);
NTKERNELAPI NTSTATUS IoRegisterDriverProxyEndpoints(
    PDRIVER_PROXY_EXTENSION Extension, PDRIVER_PROXY_ENDPOINT_INFORMATION Endpoints,
    ULONG EndpointCount, PDRIVER_PROXY_REGISTER_CALLBACK Callback, PVOID Context);
NTKERNELAPI PVOID IoGetDriverProxyEndpointWrapper(PDRIVER_PROXY_EXTENSION Extension,
                                                  ULONG FunctionId);
NTKERNELAPI NTSTATUS IoDriverProxyCreateHotSwappableWorkerThread(
    PDRIVER_PROXY_EXTENSION Extension, PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess,
    POBJECT_ATTRIBUTES ObjectAttributes, HANDLE ProcessHandle, PCLIENT_ID ClientId,
    PDRIVER_PROXY_HOTSWAP_WORKER_ROUTINE_START_CONTEXT StartContext);

/* the WDK that has DriverProxy also declares these two */
NTKERNELAPI VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTKERNELAPI PVOID ExAllocatePool2(ULONG64 Flags, SIZE_T NumberOfBytes, ULONG Tag);

#endif /* HSP_HAVE_WDK_DRIVERPROXY */

/* Exported by ntoskrnl.exe but declared by neither toolchain's ntddk.h (undocumented or in
   ntifs.h); the import entries come from libntoskrnl.a / ntoskrnl-extra.def or NtosKrnl.lib. */
NTKERNELAPI NTSTATUS PsGetThreadExitStatus(PETHREAD Thread);
NTKERNELAPI BOOLEAN KeAlertThread(PKTHREAD Thread, KPROCESSOR_MODE AlertMode);
NTKERNELAPI NTSTATUS ObReferenceObjectByName(PUNICODE_STRING ObjectName, ULONG Attributes,
                                             PACCESS_STATE AccessState, ACCESS_MASK DesiredAccess,
                                             POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                             PVOID ParseContext, PVOID *Object);
extern __declspec(dllimport) POBJECT_TYPE *IoDriverObjectType;

typedef enum _KAPC_ENVIRONMENT {
    OriginalApcEnvironment,
    AttachedApcEnvironment,
    CurrentApcEnvironment,
    InsertApcEnvironment
} KAPC_ENVIRONMENT;
typedef VOID (*PHSP_KERNEL_ROUTINE)(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine,
                                    PVOID *NormalContext, PVOID *SystemArgument1,
                                    PVOID *SystemArgument2);
typedef VOID (*PHSP_RUNDOWN_ROUTINE)(PKAPC Apc);
NTKERNELAPI VOID KeInitializeApc(PKAPC Apc, PKTHREAD Thread, KAPC_ENVIRONMENT Environment,
                                 PHSP_KERNEL_ROUTINE KernelRoutine,
                                 PHSP_RUNDOWN_ROUTINE RundownRoutine,
                                 PKNORMAL_ROUTINE NormalRoutine, KPROCESSOR_MODE ApcMode,
                                 PVOID NormalContext);
NTKERNELAPI BOOLEAN KeInsertQueueApc(PKAPC Apc, PVOID SystemArgument1, PVOID SystemArgument2,
                                     KPRIORITY Increment);

#endif
