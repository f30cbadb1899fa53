/*
 * image.c: what loading and unloading an image means for hsprobe, on either OS. Version 1
 * creates the shared state, probes the feature, creates the extension and registers
 * endpoints 1 and 2; version 2 attaches to version 1's state, takes its extension and swaps
 * the endpoints to its own functions. The OS layer wraps these in DriverEntry / DriverUnload
 * (windows/driver.c) or module_init / module_exit (drivers/linux/hsprobe/module.c).
 */
#include "hsprobe.h"

HSP_SHARED *g_shared;
HSP_PROXY_API g_proxy;
static BOOLEAN g_notify_set;

static const char *const g_crash_names[] = {"none", "routine-null", "swap-bug", "hang"};

HSP_SHARED *HspSharedCreate(PDRIVER_OBJECT driver)
{
    HSP_SHARED *s = (HSP_SHARED *)HspAlloc(sizeof *s);
    if (!s)
        return NULL;
    s->magic = HSP_MAGIC;
    s->layout = HSP_LAYOUT_VERSION;
    s->refs = 1;
    HspLockInit(&s->lock);
    HspMutexInit(&s->swap_lock);
    KeInitializeEvent(&s->gate, NotificationEvent, TRUE);
    InitializeListHead(&s->workers);
    HspImageInit(&s->images[1], driver);
    return s;
}

void HspRelease(HSP_SHARED *s)
{
    if (InterlockedDecrement(&s->refs) == 0)
        HspFree(s);
}

void HspArmCrash(HSP_SHARED *s, ULONG kind)
{
    char label[HSP_MARK_MAX] = "crash switch armed: ";
    size_t n = sizeof "crash switch armed: " - 1, i;
    const char *name = g_crash_names[kind <= HSP_CRASH_HANG ? kind : 0];
    for (i = 0; name[i] && n + 1 < sizeof label; i++)
        label[n++] = name[i];
    label[n] = 0;
    InterlockedExchange(&s->crash, (LONG)kind);
    HspMark(s, label, 0);
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
   code, so version 1's functions go back in first; a call held at the gate would make the
   drain time out, hence the gate is opened and the swap retried. When it still fails, the
   workers are ended instead: no thread may call into an image that is going away. */
static void HspSwapHome(HSP_SHARED *s)
{
    hsp_swap_in in;
    LARGE_INTEGER pause;
    ULONG tries;
    RtlZeroMemory(&in, sizeof in);
    in.to_version = 1;
    in.wait = 1;
    pause.QuadPart = -10000000; /* 1 s */
    for (tries = 0; s->registered_version == 2 && s->images[1].driver && g_extension &&
                    !s->owner_gone;
         tries++) {
        if (tries == HSP_SWAP_HOME_TRIES) {
            HspMark(s, "no swap back to version 1: ending the workers instead", 0);
            HspStopWorkers(s);
            return;
        }
        KeSetEvent(&s->gate, IO_NO_INCREMENT, FALSE);
        if (NT_SUCCESS(HspSwapBlocking(s, &in)))
            return;
        KeDelayExecutionThread(KernelMode, FALSE, &pause);
    }
}

static void HspProbe(PDRIVER_OBJECT driver, HSP_SHARED *s, BOOLEAN have_features)
{
    DRIVER_PROXY_FEATURE_FLAGS flags;
    BOOLEAN exports = (BOOLEAN)(HSP_PROXY_COMPLETE(&g_proxy) != 0);
    hsp_record r;
    flags.AsUlong = 0;
    if (have_features)
        g_proxy.GetFeatures(driver, &flags);
    s->feature_flags = flags.AsUlong;
    s->extension_status = exports ? g_proxy.CreateExtension(driver, 0, &g_extension)
                                  : STATUS_PROCEDURE_NOT_FOUND; /* nothing could be called */
    if (!NT_SUCCESS(s->extension_status))
        g_extension = NULL;
    s->extension = g_extension;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_PROBE;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    r.u.probe.flags = flags.AsUlong;
    r.u.probe.enabled = (uint8_t)(flags.AsUlong & 1);
    r.u.probe.extension_status = (uint32_t)s->extension_status;
    r.u.probe.exports = exports;
    HspRecord(s, &r);
    if (!have_features)
        HspMark(s, "IoGetDriverProxyFeatures is not exported: flags read as 0", 0);
    if (!exports)
        HspMark(s, "DriverProxy routines are not exported: workers use the fallback loop", 0);
}

void HspOwnerStart(HSP_SHARED *s, PDRIVER_OBJECT driver)
{
    HspProbe(driver, s, HspOsResolveProxy(&g_proxy));
    if (g_extension)
        HspRegisterInitial(s);
    g_notify_set = (BOOLEAN)NT_SUCCESS(PsSetCreateThreadNotifyRoutine(HspThreadNotify));
    if (!g_notify_set)
        HspMark(s, "no thread-notify slot: thread exits are not recorded", 0);
}

void HspOwnerStop(HSP_SHARED *s)
{
    ULONG live;
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
}

NTSTATUS HspGuestAttach(HSP_SHARED *s, PDRIVER_OBJECT driver, PDRIVER_OBJECT owner)
{
    if (!s || s->magic != HSP_MAGIC || s->layout != HSP_LAYOUT_VERSION || s->images[2].driver)
        return STATUS_REVISION_MISMATCH;
    InterlockedIncrement(&s->refs);
    g_shared = s;
    HspOsResolveProxy(&g_proxy);
    /* the documented way for a second image to take over a V1 extension */
    g_extension = HSP_PROXY_COMPLETE(&g_proxy) ? g_proxy.ExtensionFromDriver(owner) : NULL;
    if (g_extension != s->extension)
        HspMark(s, "extension from driver object differs from the one created", 0);
    HspImageInit(&s->images[2], driver);
    return STATUS_SUCCESS;
}

/* Loading version 2 is the swap, with the options hsprobectl armed (if any). */
void HspGuestStart(HSP_SHARED *s)
{
    hsp_swap_in in;
    HSP_LOCK_STATE state;
    RtlZeroMemory(&in, sizeof in);
    in.wait = 1;
    state = HspLockAcquire(&s->lock);
    if (s->has_pending) {
        in = s->pending;
        s->has_pending = FALSE;
    }
    HspLockRelease(&s->lock, state);
    in.arm = 0;
    in.to_version = 2;
    HspSwapRequest(s, &in); /* the outcome is in the trace and last_swap_status */
}

void HspGuestStop(HSP_SHARED *s)
{
    HspWaitAsyncSwaps();
    HspSwapHome(s);
    if (!s->owner_gone)
        HspRecordUnload(s, HspLiveWorkers(s));
    s->images[2].driver = NULL;
}
