/*
 * driver.c: load and unload of both images. Version 1 creates the shared state, probes the
 * feature, creates the extension and registers endpoints 1 and 2. Version 2 attaches to
 * version 1's state, takes its extension and swaps the endpoints to its own functions.
 */
#include "hsprobe.h"

HSP_SHARED *g_shared;
/* read by `harness driver inspect` to tell the images apart without loading them */
__declspec(dllexport) const ULONG HspImageVersion = HSPROBE_VERSION;
extern PDRIVER_PROXY_EXTENSION g_extension;
static PDEVICE_OBJECT g_device;
#if HSPROBE_VERSION == 1
static BOOLEAN g_notify_set;
#else
static PDRIVER_OBJECT g_owner; /* version 1's driver object, referenced */
#endif

NTSTATUS HspDispatchControl(PDEVICE_OBJECT device, PIRP irp);
NTSTATUS HspDispatchOpenClose(PDEVICE_OBJECT device, PIRP irp);
DRIVER_INITIALIZE DriverEntry;

static void HspRelease(HSP_SHARED *s)
{
    if (InterlockedDecrement(&s->refs) == 0)
        ExFreePoolWithTag(s, HSP_TAG);
}

static NTSTATUS HspCreateDevice(PDRIVER_OBJECT driver, PCWSTR dev_name, PCWSTR link_name)
{
    UNICODE_STRING dev, link;
    NTSTATUS status;
    RtlInitUnicodeString(&dev, dev_name);
    RtlInitUnicodeString(&link, link_name);
    status = IoCreateDevice(driver, sizeof(HSP_SHARED *), &dev, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &g_device);
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

static void HspRecordUnload(HSP_SHARED *s, ULONG live)
{
    hsp_record r;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_UNLOAD;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.live_workers = live;
    HspRecord(s, &r);
}

/* Unloading an image the endpoints still point at would leave the kernel calling freed
   code, so version 1's functions go back in first; a call held at the gate would make
   the drain time out, hence the gate is opened and the swap retried until it succeeds. */
static void HspSwapHome(HSP_SHARED *s)
{
    hsp_swap_in in;
    LARGE_INTEGER pause;
    RtlZeroMemory(&in, sizeof in);
    in.to_version = 1;
    in.wait = 1;
    pause.QuadPart = -10000000; /* 1 s */
    while (s->registered_version == 2 && s->images[1].driver && g_extension && !s->owner_gone) {
        KeSetEvent(&s->gate, IO_NO_INCREMENT, FALSE);
        if (NT_SUCCESS(HspSwapBlocking(s, &in)))
            break;
        KeDelayExecutionThread(KernelMode, FALSE, &pause);
    }
}

#if HSPROBE_VERSION == 1
static void HspProbe(PDRIVER_OBJECT driver, HSP_SHARED *s)
{
    DRIVER_PROXY_FEATURE_FLAGS flags;
    hsp_record r;
    flags.AsUlong = 0;
    IoGetDriverProxyFeatures(driver, &flags);
    s->feature_flags = flags.AsUlong;
    s->extension_status = IoCreateDriverProxyExtension(driver, 0, &g_extension);
    if (!NT_SUCCESS(s->extension_status))
        g_extension = NULL;
    s->extension = g_extension;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_PROBE;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.probe.flags = flags.AsUlong;
    r.u.probe.enabled = (uint8_t)flags.Enabled;
    r.u.probe.extension_status = (uint32_t)s->extension_status;
    HspRecord(s, &r);
}

static VOID HspUnload(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = g_shared;
    ULONG live;
    UNREFERENCED_PARAMETER(driver);
    HspWaitAsyncSwaps();
    HspSwapHome(s);
    live = HspStopWorkers(s);
    HspRecordUnload(s, live);
    if (g_notify_set)
        PsRemoveCreateThreadNotifyRoutine(HspThreadNotify);
    HspFreeWorkers(s);
    HspDumpRing(s);
    s->owner_gone = TRUE;
    s->images[1].driver = NULL;
    g_shared = NULL;
    HspDeleteDevice(HSP_LINK_NAME_V1);
    HspRelease(s);
}

static NTSTATUS HspSetUp(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = ExAllocatePool2(HSP_POOL_FLAG_NON_PAGED, sizeof *s, HSP_TAG);
    if (!s)
        return STATUS_INSUFFICIENT_RESOURCES;
    s->magic = HSP_MAGIC;
    s->layout = HSP_LAYOUT_VERSION;
    s->refs = 1;
    KeInitializeSpinLock(&s->lock);
    KeInitializeMutex(&s->swap_lock, 0);
    KeInitializeEvent(&s->gate, NotificationEvent, TRUE);
    InitializeListHead(&s->workers);
    HspImageInit(&s->images[1], driver);
    g_shared = s;
    return HspCreateDevice(driver, HSP_DEVICE_NAME_V1, HSP_LINK_NAME_V1);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
    NTSTATUS status;
    UNREFERENCED_PARAMETER(registry);
    status = HspSetUp(driver);
    if (!NT_SUCCESS(status)) {
        if (g_shared)
            ExFreePoolWithTag(g_shared, HSP_TAG);
        g_shared = NULL;
        return status;
    }
    HspProbe(driver, g_shared);
    if (g_extension)
        HspRegisterInitial(g_shared);
    g_notify_set = NT_SUCCESS(PsSetCreateThreadNotifyRoutine(HspThreadNotify));
    if (!g_notify_set)
        HspMark(g_shared, "no thread-notify slot: thread exits are not recorded", 0);
    driver->MajorFunction[IRP_MJ_CREATE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HspDispatchControl;
    driver->DriverUnload = HspUnload;
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
    if (!s || s->magic != HSP_MAGIC || s->layout != HSP_LAYOUT_VERSION || s->images[2].driver) {
        ObDereferenceObject(g_owner);
        return STATUS_REVISION_MISMATCH;
    }
    InterlockedIncrement(&s->refs);
    g_shared = s;
    /* the documented way for a second image to take over a V1 extension */
    g_extension = IoGetDriverProxyExtensionFromDriverObject(g_owner);
    if (g_extension != s->extension)
        HspMark(s, "extension from driver object differs from the one created", 0);
    HspImageInit(&s->images[2], driver);
    return STATUS_SUCCESS;
}

static VOID HspUnload(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = g_shared;
    UNREFERENCED_PARAMETER(driver);
    HspWaitAsyncSwaps();
    HspSwapHome(s);
    if (!s->owner_gone)
        HspRecordUnload(s, HspLiveWorkers(s));
    s->images[2].driver = NULL;
    HspDeleteDevice(HSP_LINK_NAME_V2);
    g_shared = NULL;
    HspRelease(s);
    ObDereferenceObject(g_owner);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING registry)
{
    hsp_swap_in in;
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
    driver->MajorFunction[IRP_MJ_CREATE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_CLOSE] = HspDispatchOpenClose;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = HspDispatchControl;
    driver->DriverUnload = HspUnload;
    /* loading version 2 is the swap, with the options hsprobectl armed (if any) */
    RtlZeroMemory(&in, sizeof in);
    in.to_version = 2;
    in.wait = 1;
    if (g_shared->has_pending) {
        in = g_shared->pending;
        g_shared->has_pending = FALSE;
    }
    in.arm = 0;
    in.to_version = 2;
    HspSwapRequest(g_shared, &in); /* the outcome is in the trace and last_swap_status */
    return STATUS_SUCCESS;
}
#endif
