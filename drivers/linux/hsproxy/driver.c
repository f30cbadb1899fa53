/*
 * driver.c: driver objects. Linux has none, and the DriverProxy contract is tied to them
 * (one extension per owning driver; a second image finds the first by its object), so
 * hsproxy keeps a named object per module that asks for one: "hsprobe" for version 1,
 * "hsprobe2" for version 2, which looks the first up as \Driver\hsprobe is on Windows.
 */
#include <linux/slab.h>

#include "internal.h"

DEFINE_MUTEX(hs_driver_lock);
static LIST_HEAD(hs_drivers);

static PDRIVER_OBJECT hs_find(const char *name)
{
    PDRIVER_OBJECT d;
    list_for_each_entry(d, &hs_drivers, link)
        if (!strcmp(d->name, name))
            return d;
    return NULL;
}

PDRIVER_OBJECT HsCreateDriverObject(const char *name, struct module *owner)
{
    PDRIVER_OBJECT d = kzalloc(sizeof *d, GFP_KERNEL);
    if (!d || strscpy(d->name, name, sizeof d->name) < 0) {
        kfree(d);
        return NULL;
    }
    refcount_set(&d->refs, 1);
    d->owner = owner;
    mutex_lock(&hs_driver_lock);
    if (hs_find(name)) {
        mutex_unlock(&hs_driver_lock);
        kfree(d);
        return NULL;
    }
    list_add_tail(&d->link, &hs_drivers);
    mutex_unlock(&hs_driver_lock);
    return d;
}
EXPORT_SYMBOL(HsCreateDriverObject);

VOID HsDereferenceDriverObject(PDRIVER_OBJECT Driver)
{
    if (refcount_dec_and_test(&Driver->refs))
        kfree(Driver);
}
EXPORT_SYMBOL(HsDereferenceDriverObject);

VOID HsDeleteDriverObject(PDRIVER_OBJECT Driver)
{
    PDRIVER_PROXY_EXTENSION ext;
    mutex_lock(&hs_driver_lock);
    list_del_init(&Driver->link);
    Driver->gone = true;
    Driver->context = NULL;
    ext = Driver->extension;
    Driver->extension = NULL;
    mutex_unlock(&hs_driver_lock);
    if (ext)
        hs_extension_free(ext);
    HsDereferenceDriverObject(Driver);
}
EXPORT_SYMBOL(HsDeleteDriverObject);

PDRIVER_OBJECT HsReferenceDriverObject(const char *name)
{
    PDRIVER_OBJECT d;
    mutex_lock(&hs_driver_lock);
    d = hs_find(name);
    if (d)
        refcount_inc(&d->refs);
    mutex_unlock(&hs_driver_lock);
    return d;
}
EXPORT_SYMBOL(HsReferenceDriverObject);

VOID HsSetDriverContext(PDRIVER_OBJECT Driver, PVOID Context)
{
    WRITE_ONCE(Driver->context, Context);
}
EXPORT_SYMBOL(HsSetDriverContext);

PVOID HsGetDriverContext(PDRIVER_OBJECT Driver)
{
    return READ_ONCE(Driver->context);
}
EXPORT_SYMBOL(HsGetDriverContext);
