/*
 * driverproxy.h: the DriverProxy API as docs/driverproxy.md section 1 gives it.
 *
 * mingw-w64's DDK predates the feature, so hsprobe takes its types from hsp_driverproxy.h
 * (which hsproxy.ko's header shares); with the WDK 10.0.26100+ wdm.h already has them and
 * HSP_HAVE_WDK_DRIVERPROXY skips that copy.
 * The other kernel routines below that neither toolchain's ntddk.h declares are imported
 * through ntoskrnl-extra.def (Makefile) or NtosKrnl.lib (WDK).
 */
#ifndef HSP_DRIVERPROXY_H
#define HSP_DRIVERPROXY_H

#include <ntddk.h>

#ifndef HSP_HAVE_WDK_DRIVERPROXY

#include "hsp_driverproxy.h"

/* The routines themselves are not declared here: hsprobe resolves them at run time
   (MmGetSystemRoutineAddress, windows/driver.c) so that the image loads on kernels that lack
   them, and calls them through HSP_PROXY_API (hsprobe.h), whose pointer types carry their
   prototypes. IoGetDriverProxyFeatures' return type is undocumented: reading the flags from
   the out parameter works whatever it is, so hsprobe takes it as VOID. */

/* the WDK that has DriverProxy also declares these three */
NTKERNELAPI VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime);
NTKERNELAPI ULONG64 KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp);
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
NTSYSAPI NTSTATUS NTAPI ZwWaitForSingleObject(HANDLE Handle, BOOLEAN Alertable,
                                              PLARGE_INTEGER Timeout);
NTSYSAPI NTSTATUS NTAPI RtlCreateAcl(PACL Acl, ULONG AclLength, ULONG AclRevision);
NTSYSAPI NTSTATUS NTAPI RtlAddAccessAllowedAce(PACL Acl, ULONG AceRevision,
                                               ACCESS_MASK AccessMask, PSID Sid);
NTKERNELAPI NTSTATUS ObSetSecurityObjectByPointer(PVOID Object,
                                                  SECURITY_INFORMATION SecurityInformation,
                                                  PSECURITY_DESCRIPTOR SecurityDescriptor);

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
