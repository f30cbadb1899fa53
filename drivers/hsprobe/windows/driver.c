/*
 * driver.c (Windows): the OS layer around the shared hsprobe source. DriverEntry and
 * DriverUnload of both images, the control device and its IRP dispatch, run-time resolution
 * of the DriverProxy routines, the unload dump file and the crash switch's primitives.
 */
#include "hsprobe.h"

#ifdef HSP_HAVE_WDMSEC /* the WDK build: IoCreateDeviceSecure from wdmsec.lib */
#include <wdmsec.h>
/* {5E8A5C5D-7C1B-4C36-9F0E-3A6B2D1C4E71}: the class of hsprobe's control devices */
static const GUID HSP_DEVICE_CLASS = {0x5e8a5c5d, 0x7c1b, 0x4c36,
                                      {0x9f, 0x0e, 0x3a, 0x6b, 0x2d, 0x1c, 0x4e, 0x71}};
#endif

/* read by `harness driver inspect` to tell the images apart without loading them */
__declspec(dllexport) const ULONG HspImageVersion = HSPROBE_VERSION;
static PDEVICE_OBJECT g_device;
#if HSPROBE_VERSION != 1
static PDRIVER_OBJECT g_owner; /* version 1's driver object, referenced */
#endif

DRIVER_INITIALIZE DriverEntry;
_Function_class_(DRIVER_UNLOAD) _IRQL_requires_max_(PASSIVE_LEVEL) static DRIVER_UNLOAD HspUnload;
_Function_class_(DRIVER_DISPATCH) _IRQL_requires_max_(PASSIVE_LEVEL)
static DRIVER_DISPATCH HspDispatchControl;
_Function_class_(DRIVER_DISPATCH) _IRQL_requires_max_(PASSIVE_LEVEL)
static DRIVER_DISPATCH HspDispatchOpenClose;

static PVOID HspRoutine(PCWSTR name)
{
    UNICODE_STRING u;
    RtlInitUnicodeString(&u, name);
    return MmGetSystemRoutineAddress(&u);
}

/* Resolved at run time, so that the image loads on kernels without DriverProxy (Windows 10,
   Windows 11 before 24H2) and its fallback loop can run there. */
BOOLEAN HspOsResolveProxy(HSP_PROXY_API *api)
{
    *(PVOID *)&api->GetFeatures = HspRoutine(L"IoGetDriverProxyFeatures");
    *(PVOID *)&api->CreateExtension = HspRoutine(L"IoCreateDriverProxyExtension");
    *(PVOID *)&api->ExtensionFromDriver = HspRoutine(L"IoGetDriverProxyExtensionFromDriverObject");
    *(PVOID *)&api->RegisterEndpoints = HspRoutine(L"IoRegisterDriverProxyEndpoints");
    *(PVOID *)&api->EndpointWrapper = HspRoutine(L"IoGetDriverProxyEndpointWrapper");
    *(PVOID *)&api->CreateWorker = HspRoutine(L"IoDriverProxyCreateHotSwappableWorkerThread");
    return (BOOLEAN)(api->GetFeatures != NULL);
}

#ifndef HSP_HAVE_WDMSEC
/* S-1-5-18 (LocalSystem) and S-1-5-32-544 (Administrators), as SID bytes */
static const ULONG g_sid_system[] = {0x00000101u, 0x05000000u, 18u};
static const ULONG g_sid_admins[] = {0x00000201u, 0x05000000u, 32u, 544u};

/* What IoCreateDeviceSecure does with SDDL "D:P(A;;GA;;;SY)(A;;GA;;;BA)": mingw-w64 has no
   wdmsec.lib, so the same DACL is built and set by hand. */
static NTSTATUS HspSecureDevice(PDEVICE_OBJECT device)
{
    ULONG64 sd[8]; /* an absolute SECURITY_DESCRIPTOR (40 bytes on x64) */
    ULONG acl_buf[64];
    PACL acl = (PACL)acl_buf;
    NTSTATUS status = RtlCreateSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION);
    if (NT_SUCCESS(status))
        status = RtlCreateAcl(acl, sizeof acl_buf, ACL_REVISION);
    if (NT_SUCCESS(status))
        status = RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, (PSID)g_sid_system);
    if (NT_SUCCESS(status))
        status = RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, (PSID)g_sid_admins);
    if (NT_SUCCESS(status))
        status = RtlSetDaclSecurityDescriptor(sd, TRUE, acl, FALSE);
    if (NT_SUCCESS(status))
        status = ObSetSecurityObjectByPointer(device, DACL_SECURITY_INFORMATION, sd);
    return status;
}
#endif

/* Only SYSTEM and Administrators may open the device: it creates kernel threads. */
static NTSTATUS HspCreateDevice(PDRIVER_OBJECT driver, PCWSTR dev_name, PCWSTR link_name)
{
    UNICODE_STRING dev, link;
    NTSTATUS status;
    RtlInitUnicodeString(&dev, dev_name);
    RtlInitUnicodeString(&link, link_name);
#ifdef HSP_HAVE_WDMSEC
    status = IoCreateDeviceSecure(driver, sizeof(HSP_SHARED *), &dev, FILE_DEVICE_UNKNOWN,
                                  FILE_DEVICE_SECURE_OPEN, FALSE, &SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
                                  &HSP_DEVICE_CLASS, &g_device);
#else
    status = IoCreateDevice(driver, sizeof(HSP_SHARED *), &dev, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &g_device);
    if (NT_SUCCESS(status) && !NT_SUCCESS(status = HspSecureDevice(g_device))) {
        IoDeleteDevice(g_device);
        g_device = NULL;
    }
#endif
    if (!NT_SUCCESS(status))
        return status;
    *(HSP_SHARED **)g_device->DeviceExtension = g_shared;
    status = IoCreateSymbolicLink(&link, &dev);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(g_device);
        g_device = NULL;
    }
    return status;
}

static void HspDeleteDevice(PCWSTR link_name)
{
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, link_name);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(g_device);
}

static NTSTATUS HspDispatchControl(PDEVICE_OBJECT device, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG_PTR info = 0;
    NTSTATUS status;
    UNREFERENCED_PARAMETER(device);
    status = g_shared ? HspControl(g_shared, sp->Parameters.DeviceIoControl.IoControlCode,
                                   irp->AssociatedIrp.SystemBuffer,
                                   sp->Parameters.DeviceIoControl.InputBufferLength,
                                   sp->Parameters.DeviceIoControl.OutputBufferLength, &info)
                      : STATUS_DEVICE_NOT_READY;
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = NT_SUCCESS(status) ? info : 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS HspDispatchOpenClose(PDEVICE_OBJECT device, PIRP irp)
{
    UNREFERENCED_PARAMETER(device);
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static void HspSetDispatch(PDRIVER_OBJECT driver)
{
    driver->MajorFunction[IRP_MJ_CREATE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HspDispatchControl;
    driver->DriverUnload = HspUnload;
}

PVOID HspOsDumpOpen(void)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    IO_STATUS_BLOCK iosb;
    HANDLE file;
    RtlInitUnicodeString(&name, HSP_UNLOAD_DUMP);
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    if (!NT_SUCCESS(ZwCreateFile(&file, GENERIC_WRITE | SYNCHRONIZE, &oa, &iosb, NULL,
                                 FILE_ATTRIBUTE_NORMAL, 0, FILE_OVERWRITE_IF,
                                 FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL,
                                 0)))
        return NULL;
    return file;
}

BOOLEAN HspOsDumpWrite(PVOID file, const void *data, ULONG len)
{
    IO_STATUS_BLOCK iosb;
    return (BOOLEAN)NT_SUCCESS(
        ZwWriteFile((HANDLE)file, NULL, NULL, NULL, &iosb, (PVOID)data, len, NULL, NULL));
}

void HspOsDumpClose(PVOID file)
{
    ZwClose((HANDLE)file);
}

void HspOsBugCheck(ULONG kind)
{
    KeBugCheckEx(0xE2 /* MANUALLY_INITIATED_CRASH */, 0x48535000u /* "HSP" */, kind, 0, 0);
}

void HspOsHang(void)
{
#ifdef __GNUC__
    __asm__ __volatile__("cli"); /* mingw-w64 has no inline _disable() */
#else
    _disable();
#endif
    for (;;)
        YieldProcessor();
}

#if HSPROBE_VERSION == 1
static VOID HspUnload(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = g_shared;
    UNREFERENCED_PARAMETER(driver);
    HspOwnerStop(s);
    g_shared = NULL;
    HspDeleteDevice(HSP_LINK_NAME_V1);
    HspRelease(s);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(registry);
    g_shared = HspSharedCreate(driver);
    if (!g_shared)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = HspCreateDevice(driver, HSP_DEVICE_NAME_V1, HSP_LINK_NAME_V1);
    if (!NT_SUCCESS(status)) {
        HspRelease(g_shared);
        g_shared = NULL;
        return status;
    }
    HspOwnerStart(g_shared, driver);
    HspSetDispatch(driver);
    return STATUS_SUCCESS;
}

#else /* version 2 */

/* Finds version 1's driver object and the shared state its device carries. */
static NTSTATUS HspAttach(PDRIVER_OBJECT driver)
{
    UNICODE_STRING name;
    HSP_SHARED *s;
    NTSTATUS status;
    RtlInitUnicodeString(&name, HSP_DRIVER_NAME_V1);
    status = ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDriverObjectType,
                                     KernelMode, NULL, (PVOID *)&g_owner);
    if (!NT_SUCCESS(status))
        return status; /* hsprobe (version 1) must be loaded first */
    s = g_owner->DeviceObject ? *(HSP_SHARED **)g_owner->DeviceObject->DeviceExtension : NULL;
    status = HspGuestAttach(s, driver, g_owner);
    if (!NT_SUCCESS(status))
        ObDereferenceObject(g_owner);
    return status;
}

static VOID HspUnload(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = g_shared;
    UNREFERENCED_PARAMETER(driver);
    HspGuestStop(s);
    HspDeleteDevice(HSP_LINK_NAME_V2);
    g_shared = NULL;
    HspRelease(s);
    ObDereferenceObject(g_owner);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(registry);
    status = HspAttach(driver);
    if (!NT_SUCCESS(status))
        return status;
    status = HspCreateDevice(driver, HSP_DEVICE_NAME_V2, HSP_LINK_NAME_V2);
    if (!NT_SUCCESS(status)) {
        g_shared->images[2].driver = NULL;
        HspRelease(g_shared);
        g_shared = NULL;
        ObDereferenceObject(g_owner);
        return status;
    }
    HspSetDispatch(driver);
    HspGuestStart(g_shared);
    return STATUS_SUCCESS;
}
#endif
