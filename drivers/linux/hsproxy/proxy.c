/*
 * proxy.c: DriverProxy extensions, endpoint wrappers and registration (docs/driverproxy.md
 * sections 1 and 2).
 *
 * Each registered endpoint Id gets a wrapper: one of HS_WRAPPERS fixed functions that looks
 * its endpoint up, counts the call in flight (waiting first while the proxy is stalled) and
 * calls the current function with the arguments it was given. Re-registering Ids that exist
 * is the swap: PreProcess callback; stall (new calls wait) and drain the calls in flight
 * within drain_ms (else STATUS_UNSUCCESSFUL); ProxyStalled callback; switch every endpoint
 * of the request at once; PostProcess callback; unstall. A failing callback returns its
 * status and rolls everything back; a ParameterCount that differs from the registered one
 * is STATUS_INVALID_PARAMETER_3 before anything happens. Calls stay blocked through
 * PostProcess, so a rollback is as atomic as the switch.
 */
#include <linux/slab.h>

#include "internal.h"

typedef u64 (*hs_fn)(u64, u64, u64, u64, u64, u64);

static DEFINE_SPINLOCK(hs_slot_lock);
static struct {
    PDRIVER_PROXY_EXTENSION ext;
    ULONG index; /* in ext->table */
} hs_slots[HS_WRAPPERS];

static u64 hs_call(int slot, u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
    PDRIVER_PROXY_EXTENSION ext;
    unsigned long flags;
    ULONG index;
    bool raise;
    hs_fn fn;
    u64 ret;

    spin_lock_irqsave(&hs_slot_lock, flags);
    ext = hs_slots[slot].ext;
    index = hs_slots[slot].index;
    spin_unlock_irqrestore(&hs_slot_lock, flags);
    if (WARN_ONCE(!ext, "hsproxy: call through a released wrapper\n"))
        return 0;
    spin_lock_irqsave(&ext->lock, flags);
    while (ext->stalled && !hs_bug(HS_BUG_STALL_LEAK)) {
        spin_unlock_irqrestore(&ext->lock, flags);
        wait_event(ext->wq, !READ_ONCE(ext->stalled));
        spin_lock_irqsave(&ext->lock, flags);
    }
    ext->in_flight++;
    fn = (hs_fn)ext->table.ep[index].function;
    spin_unlock_irqrestore(&ext->lock, flags);

    raise = hs_worker_raises(hs_current_thread());
    if (raise)
        preempt_disable();
    ret = fn(a, b, c, d, e, f);
    if (raise)
        preempt_enable();

    spin_lock_irqsave(&ext->lock, flags);
    if (--ext->in_flight == 0)
        wake_up_all(&ext->wq);
    spin_unlock_irqrestore(&ext->lock, flags);
    return ret;
}

#define HS_WRAPPER(n)                                                                   \
    static u64 hs_wrapper_##n(u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)                 \
    {                                                                                   \
        return hs_call(n, a, b, c, d, e, f);                                            \
    }
HS_WRAPPER(0) HS_WRAPPER(1) HS_WRAPPER(2) HS_WRAPPER(3) HS_WRAPPER(4) HS_WRAPPER(5)
HS_WRAPPER(6) HS_WRAPPER(7) HS_WRAPPER(8) HS_WRAPPER(9) HS_WRAPPER(10) HS_WRAPPER(11)
HS_WRAPPER(12) HS_WRAPPER(13) HS_WRAPPER(14) HS_WRAPPER(15) HS_WRAPPER(16) HS_WRAPPER(17)
HS_WRAPPER(18) HS_WRAPPER(19) HS_WRAPPER(20) HS_WRAPPER(21) HS_WRAPPER(22) HS_WRAPPER(23)
HS_WRAPPER(24) HS_WRAPPER(25) HS_WRAPPER(26) HS_WRAPPER(27) HS_WRAPPER(28) HS_WRAPPER(29)
HS_WRAPPER(30) HS_WRAPPER(31)

static const hs_fn hs_wrappers[HS_WRAPPERS] = {
    hs_wrapper_0,  hs_wrapper_1,  hs_wrapper_2,  hs_wrapper_3,  hs_wrapper_4,  hs_wrapper_5,
    hs_wrapper_6,  hs_wrapper_7,  hs_wrapper_8,  hs_wrapper_9,  hs_wrapper_10, hs_wrapper_11,
    hs_wrapper_12, hs_wrapper_13, hs_wrapper_14, hs_wrapper_15, hs_wrapper_16, hs_wrapper_17,
    hs_wrapper_18, hs_wrapper_19, hs_wrapper_20, hs_wrapper_21, hs_wrapper_22, hs_wrapper_23,
    hs_wrapper_24, hs_wrapper_25, hs_wrapper_26, hs_wrapper_27, hs_wrapper_28, hs_wrapper_29,
    hs_wrapper_30, hs_wrapper_31,
};

static int hs_slot_take(PDRIVER_PROXY_EXTENSION ext, ULONG index)
{
    unsigned long flags;
    int slot;
    spin_lock_irqsave(&hs_slot_lock, flags);
    for (slot = 0; slot < HS_WRAPPERS && hs_slots[slot].ext; slot++)
        ;
    if (slot < HS_WRAPPERS) {
        hs_slots[slot].ext = ext;
        hs_slots[slot].index = index;
    }
    spin_unlock_irqrestore(&hs_slot_lock, flags);
    return slot < HS_WRAPPERS ? slot : -1;
}

static void hs_slot_release(int slot)
{
    unsigned long flags;
    spin_lock_irqsave(&hs_slot_lock, flags);
    hs_slots[slot].ext = NULL;
    spin_unlock_irqrestore(&hs_slot_lock, flags);
}

int hs_wrapper_index(PDRIVER_PROXY_EXTENSION ext, PVOID routine)
{
    unsigned long flags;
    int slot, found = -1;
    spin_lock_irqsave(&hs_slot_lock, flags);
    for (slot = 0; slot < HS_WRAPPERS; slot++)
        if ((PVOID)hs_wrappers[slot] == routine && hs_slots[slot].ext == ext)
            found = slot;
    spin_unlock_irqrestore(&hs_slot_lock, flags);
    return found;
}

static struct hs_endpoint *hs_find(struct hs_table *t, ULONG id)
{
    ULONG i;
    for (i = 0; i < t->count; i++)
        if (t->ep[i].id == id)
            return &t->ep[i];
    return NULL;
}

/* The request against the registered table: INVALID_PARAMETER for a malformed entry,
   INVALID_PARAMETER_3 for an Id whose ParameterCount differs. */
static NTSTATUS hs_check(struct hs_table *t, const DRIVER_PROXY_ENDPOINT_INFORMATION *e,
                         ULONG count)
{
    const struct hs_endpoint *old;
    ULONG i, j;
    for (i = 0; i < count; i++) {
        if (!e[i].Function || e[i].ParameterCount > HS_MAX_PARAMETERS)
            return STATUS_INVALID_PARAMETER;
        for (j = 0; j < i; j++)
            if (e[j].Id == e[i].Id)
                return STATUS_INVALID_PARAMETER;
        old = hs_find(t, e[i].Id);
        if (old && old->params != e[i].ParameterCount &&
            !hs_bug(HS_BUG_PARAMETER_MISMATCH_ACCEPTED))
            return STATUS_INVALID_PARAMETER_3;
    }
    return STATUS_SUCCESS;
}

static void hs_release_new(const struct hs_table *next, ULONG from)
{
    ULONG i;
    for (i = from; i < next->count; i++)
        hs_slot_release(next->ep[i].slot);
}

/* The table the request asks for, with wrappers reserved for new Ids; `next` starts as a
   copy of the registered table. */
static NTSTATUS hs_build(PDRIVER_PROXY_EXTENSION ext, struct hs_table *next,
                         const DRIVER_PROXY_ENDPOINT_INFORMATION *e, ULONG count)
{
    ULONG i, registered = next->count;
    struct hs_endpoint *ep;
    for (i = 0; i < count; i++) {
        ep = hs_find(next, e[i].Id);
        if (!ep) {
            int slot = next->count < HS_MAX_ENDPOINTS ? hs_slot_take(ext, next->count) : -1;
            if (slot < 0) {
                hs_release_new(next, registered);
                return STATUS_INSUFFICIENT_RESOURCES;
            }
            ep = &next->ep[next->count++];
            ep->id = e[i].Id;
            ep->slot = slot;
        } else if (hs_bug(HS_BUG_OLD_ROUTINE_AFTER_SWAP) ||
                   (hs_bug(HS_BUG_PARTIAL_SWITCH) && i > 0)) {
            continue; /* the bug: this endpoint keeps its old function */
        }
        ep->function = e[i].Function;
        ep->params = e[i].ParameterCount;
    }
    return STATUS_SUCCESS;
}

static void hs_install(PDRIVER_PROXY_EXTENSION ext, const struct hs_table *t)
{
    unsigned long flags;
    spin_lock_irqsave(&ext->lock, flags);
    ext->table = *t;
    spin_unlock_irqrestore(&ext->lock, flags);
}

static void hs_stall(PDRIVER_PROXY_EXTENSION ext, bool stalled)
{
    unsigned long flags;
    spin_lock_irqsave(&ext->lock, flags);
    ext->stalled = stalled;
    spin_unlock_irqrestore(&ext->lock, flags);
    if (!stalled)
        wake_up_all(&ext->wq);
}

static NTSTATUS hs_phase(PDRIVER_PROXY_REGISTER_CALLBACK cb, PVOID ctx,
                         DRIVER_PROXY_REGISTER_CALLBACK_REASON reason)
{
    return cb ? cb(reason, ctx) : STATUS_SUCCESS;
}

/* The phases from PreProcess to PostProcess, with `saved` holding the table to roll back to. */
static NTSTATUS hs_swap(PDRIVER_PROXY_EXTENSION ext, const struct hs_table *next,
                        struct hs_table *saved, PDRIVER_PROXY_REGISTER_CALLBACK cb, PVOID ctx)
{
    bool swapped = hs_bug(HS_BUG_PHASES_OUT_OF_ORDER);
    NTSTATUS status = hs_phase(cb, ctx, swapped ? DriverProxyRegisterCallbackProxyStalled
                                                : DriverProxyRegisterCallbackPreProcess);
    if (!NT_SUCCESS(status))
        return status;
    hs_stall(ext, true);
    if (!hs_bug(HS_BUG_NO_DRAIN) &&
        !wait_event_timeout(ext->wq, READ_ONCE(ext->in_flight) == 0,
                            msecs_to_jiffies(hs_drain_ms))) {
        hs_stall(ext, false);
        return STATUS_UNSUCCESSFUL; /* calls still in flight when the drain timed out */
    }
    status = hs_phase(cb, ctx, swapped ? DriverProxyRegisterCallbackPreProcess
                                       : DriverProxyRegisterCallbackProxyStalled);
    if (!NT_SUCCESS(status)) {
        hs_stall(ext, false);
        return status;
    }
    *saved = ext->table;
    hs_install(ext, next);
    status = hs_phase(cb, ctx, DriverProxyRegisterCallbackPostProcess);
    if (!NT_SUCCESS(status) && !hs_bug(HS_BUG_NO_ROLLBACK))
        hs_install(ext, saved);
    hs_stall(ext, false);
    return status;
}

NTSTATUS IoRegisterDriverProxyEndpoints(PDRIVER_PROXY_EXTENSION Extension,
                                        PDRIVER_PROXY_ENDPOINT_INFORMATION Endpoints,
                                        ULONG EndpointCount,
                                        PDRIVER_PROXY_REGISTER_CALLBACK Callback, PVOID Context)
{
    struct hs_table *next, *saved;
    ULONG registered;
    NTSTATUS status;
    if (!Extension || !Endpoints || !EndpointCount || EndpointCount > HS_MAX_ENDPOINTS)
        return STATUS_INVALID_PARAMETER;
    next = kmalloc(sizeof *next, GFP_KERNEL);
    saved = kmalloc(sizeof *saved, GFP_KERNEL);
    if (!next || !saved) {
        kfree(next);
        kfree(saved);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    mutex_lock(&Extension->reg);
    *next = Extension->table; /* only registrations change it, and they hold `reg` */
    registered = next->count;
    status = hs_check(next, Endpoints, EndpointCount);
    if (NT_SUCCESS(status))
        status = hs_build(Extension, next, Endpoints, EndpointCount);
    if (NT_SUCCESS(status)) {
        status = hs_swap(Extension, next, saved, Callback, Context);
        if (!NT_SUCCESS(status) && Extension->table.count == registered)
            hs_release_new(next, registered); /* rolled back: the new Ids' wrappers go */
        else if (NT_SUCCESS(status) && registered && hs_bug(HS_BUG_SWAP_RECREATES_THREAD))
            hs_workers_recreate(Extension);
    }
    mutex_unlock(&Extension->reg);
    kfree(next);
    kfree(saved);
    return status;
}
EXPORT_SYMBOL(IoRegisterDriverProxyEndpoints);

VOID IoGetDriverProxyFeatures(PDRIVER_OBJECT DriverObject, PDRIVER_PROXY_FEATURE_FLAGS Flags)
{
    UNREFERENCED_PARAMETER(DriverObject);
    Flags->AsUlong = 0;
    Flags->Enabled = hs_feature != HS_FEATURE_DISABLED; /* blocked: on, but not for this one */
}
EXPORT_SYMBOL(IoGetDriverProxyFeatures);

NTSTATUS IoCreateDriverProxyExtension(PDRIVER_OBJECT OwningDriverObject, ULONG Flags,
                                      PDRIVER_PROXY_EXTENSION *Extension)
{
    PDRIVER_PROXY_EXTENSION ext;
    NTSTATUS status = STATUS_SUCCESS;
    if (!Extension || Flags)
        return STATUS_INVALID_PARAMETER;
    *Extension = NULL;
    if (hs_feature == HS_FEATURE_DISABLED)
        return STATUS_NOT_SUPPORTED;
    if (hs_feature == HS_FEATURE_BLOCKED)
        return STATUS_DRIVER_BLOCKED;
    ext = kzalloc(sizeof *ext, GFP_KERNEL);
    if (!ext)
        return STATUS_INSUFFICIENT_RESOURCES;
    spin_lock_init(&ext->lock);
    mutex_init(&ext->reg);
    init_waitqueue_head(&ext->wq);
    INIT_LIST_HEAD(&ext->workers);
    ext->owner = OwningDriverObject;
    mutex_lock(&hs_driver_lock);
    if (OwningDriverObject && (OwningDriverObject->gone || OwningDriverObject->extension))
        status = STATUS_RESOURCE_IN_USE; /* one extension per driver object */
    else if (OwningDriverObject)
        OwningDriverObject->extension = ext;
    mutex_unlock(&hs_driver_lock);
    if (!NT_SUCCESS(status))
        kfree(ext);
    else
        *Extension = ext;
    return status;
}
EXPORT_SYMBOL(IoCreateDriverProxyExtension);

PDRIVER_PROXY_EXTENSION IoGetDriverProxyExtensionFromDriverObject(PDRIVER_OBJECT DriverObject)
{
    PDRIVER_PROXY_EXTENSION ext;
    if (!DriverObject)
        return NULL;
    mutex_lock(&hs_driver_lock);
    ext = DriverObject->extension;
    mutex_unlock(&hs_driver_lock);
    return ext;
}
EXPORT_SYMBOL(IoGetDriverProxyExtensionFromDriverObject);

PVOID IoGetDriverProxyEndpointWrapper(PDRIVER_PROXY_EXTENSION Extension, ULONG FunctionId)
{
    const struct hs_endpoint *ep;
    unsigned long flags;
    PVOID wrapper = NULL;
    if (!Extension)
        return NULL;
    spin_lock_irqsave(&Extension->lock, flags);
    ep = hs_find(&Extension->table, FunctionId);
    if (ep)
        wrapper = (PVOID)hs_wrappers[ep->slot];
    spin_unlock_irqrestore(&Extension->lock, flags);
    return wrapper;
}
EXPORT_SYMBOL(IoGetDriverProxyEndpointWrapper);

NTSTATUS IofGetDriverProxyWrapperFromEndpoint(PDRIVER_PROXY_EXTENSION Extension, PVOID Endpoint,
                                              PVOID *Wrapper)
{
    unsigned long flags;
    NTSTATUS status = STATUS_NOT_FOUND;
    ULONG i;
    if (!Extension || !Wrapper)
        return STATUS_INVALID_PARAMETER;
    spin_lock_irqsave(&Extension->lock, flags);
    for (i = 0; i < Extension->table.count; i++)
        if (Extension->table.ep[i].function == Endpoint) {
            *Wrapper = (PVOID)hs_wrappers[Extension->table.ep[i].slot];
            status = STATUS_SUCCESS;
            break;
        }
    spin_unlock_irqrestore(&Extension->lock, flags);
    return status;
}
EXPORT_SYMBOL(IofGetDriverProxyWrapperFromEndpoint);

/* The owner is going: its workers must have ended (hsprobe ends them at unload). */
void hs_extension_free(PDRIVER_PROXY_EXTENSION ext)
{
    ULONG i;
    if (WARN(!list_empty(&ext->workers), "hsproxy: extension freed with live workers\n"))
        return; /* leaked rather than freed under running threads */
    for (i = 0; i < ext->table.count; i++)
        hs_slot_release(ext->table.ep[i].slot);
    kfree(ext);
}
