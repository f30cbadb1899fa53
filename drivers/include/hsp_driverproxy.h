/*
 * hsp_driverproxy.h: the DriverProxy types (docs/driverproxy.md section 1), with the x64
 * layout the kernel's PDB type information gives. Shared by hsprobe's Windows build (where
 * the WDK's wdm.h lacks them: windows/driverproxy.h) and hsproxy.ko (linux/hsproxy/hsproxy.h),
 * each of which defines the NT base types first.
 */
#ifndef HSP_DRIVERPROXY_TYPES_H
#define HSP_DRIVERPROXY_TYPES_H

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

#endif
