/*
 * module.c (Linux): the OS layer around the shared hsprobe source (drivers/hsprobe), built
 * twice as hsprobe.ko (HSPROBE_VERSION 1) and hsprobe2.ko (version 2) against hsproxy.ko.
 * module_init / module_exit play DriverEntry / DriverUnload, a misc device (/dev/hsprobe,
 * /dev/hsprobe2, root only) plays the control device, and its ioctl moves each request's
 * buffer in and out of the same handler the Windows dispatch routine calls.
 *
 *   insmod hsprobe.ko [crash=none|routine-null|swap-bug|hang]
 */
#include <linux/bug.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "hsprobe.h"

#if HSPROBE_VERSION == 1
#define HSP_NAME "hsprobe"
#else
#define HSP_NAME "hsprobe2"
#endif
#define HSP_BUFFER_MAX (64u << 10) /* larger than any request */

static char *crash = "none";
module_param(crash, charp, 0444);
MODULE_PARM_DESC(crash, "arm the crash switch at load: none, routine-null (the routine writes "
                        "through NULL), swap-bug (BUG() in the ProxyStalled phase), hang "
                        "(the routine spins with interrupts off)");

static PDRIVER_OBJECT g_driver;
#if HSPROBE_VERSION != 1
static PDRIVER_OBJECT g_owner; /* version 1's driver object, referenced */
#endif

BOOLEAN HspOsResolveProxy(HSP_PROXY_API *api)
{
    api->GetFeatures = IoGetDriverProxyFeatures;
    api->CreateExtension = IoCreateDriverProxyExtension;
    api->ExtensionFromDriver = IoGetDriverProxyExtensionFromDriverObject;
    api->RegisterEndpoints = IoRegisterDriverProxyEndpoints;
    api->EndpointWrapper = IoGetDriverProxyEndpointWrapper;
    api->CreateWorker = IoDriverProxyCreateHotSwappableWorkerThread;
    return TRUE;
}

PVOID HspOsDumpOpen(void)
{
    struct file *f = filp_open(HSP_LINUX_UNLOAD_DUMP, O_WRONLY | O_CREAT | O_TRUNC | O_LARGEFILE,
                               0600);
    return IS_ERR(f) ? NULL : f;
}

BOOLEAN HspOsDumpWrite(PVOID file, const void *data, ULONG len)
{
    struct file *f = file;
    return kernel_write(f, data, len, &f->f_pos) == (ssize_t)len;
}

void HspOsDumpClose(PVOID file)
{
    filp_close(file, NULL);
}

void HspOsBugCheck(ULONG kind)
{
    pr_emerg(HSP_NAME ": crash switch %u: BUG() in the swap\n", kind);
    BUG();
}

void HspOsHang(void)
{
    local_irq_disable();
    for (;;)
        cpu_relax();
}

/* IRP status to errno, for the ioctl's own result (the NTSTATUS travels in the buffer) */
static int hsp_errno(NTSTATUS status)
{
    switch (status) {
    case STATUS_BUFFER_TOO_SMALL:
    case STATUS_INVALID_PARAMETER:
        return -EINVAL;
    case STATUS_INVALID_DEVICE_REQUEST:
        return -ENOTTY;
    case STATUS_INSUFFICIENT_RESOURCES:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

static long hsp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
    hsp_buffer b;
    ULONG_PTR info = 0;
    NTSTATUS status;
    void *buf;
    if (copy_from_user(&b, (void __user *)arg, sizeof b))
        return -EFAULT;
    if (b.in_len > HSP_BUFFER_MAX || b.out_len > HSP_BUFFER_MAX)
        return -EINVAL;
    buf = kvzalloc(max(b.in_len, b.out_len) + 1, GFP_KERNEL);
    if (!buf)
        return -ENOMEM;
    if (copy_from_user(buf, u64_to_user_ptr(b.in), b.in_len)) {
        kvfree(buf);
        return -EFAULT;
    }
    status = g_shared ? HspControl(g_shared, cmd, buf, b.in_len, b.out_len, &info)
                      : STATUS_DEVICE_NOT_READY;
    b.status = (uint32_t)status;
    b.returned = NT_SUCCESS(status) ? (uint32_t)min_t(ULONG_PTR, info, b.out_len) : 0;
    if (copy_to_user(u64_to_user_ptr(b.out), buf, b.returned) ||
        copy_to_user((void __user *)arg, &b, sizeof b)) {
        kvfree(buf);
        return -EFAULT;
    }
    kvfree(buf);
    return NT_SUCCESS(status) ? 0 : hsp_errno(status);
}

/* only root: the device creates kernel threads (Windows: SYSTEM and Administrators) */
static int hsp_dev_open(struct inode *inode, struct file *file)
{
    return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

static const struct file_operations hsp_fops = {
    .owner = THIS_MODULE,
    .open = hsp_dev_open,
    .unlocked_ioctl = hsp_ioctl,
};

static struct miscdevice hsp_device = {
    .minor = MISC_DYNAMIC_MINOR,
    .name = HSP_NAME,
    .fops = &hsp_fops,
    .mode = 0600,
};

static int hsp_crash_kind(void)
{
    static const char *const names[] = {"none", "routine-null", "swap-bug", "hang"};
    int i;
    for (i = 0; i < ARRAY_SIZE(names); i++)
        if (!strcmp(crash, names[i]))
            return i;
    pr_err(HSP_NAME ": crash=%s is not none, routine-null, swap-bug or hang\n", crash);
    return -EINVAL;
}

#if HSPROBE_VERSION == 1
static int __init hsp_module_init(void)
{
    int kind = hsp_crash_kind(), rc;
    if (kind < 0)
        return kind;
    g_driver = HsCreateDriverObject(HSP_NAME, THIS_MODULE);
    if (!g_driver)
        return -EEXIST;
    g_shared = HspSharedCreate(g_driver);
    if (!g_shared) {
        HsDeleteDriverObject(g_driver);
        return -ENOMEM;
    }
    rc = misc_register(&hsp_device);
    if (rc) {
        HspRelease(g_shared);
        g_shared = NULL;
        HsDeleteDriverObject(g_driver);
        return rc;
    }
    HsSetDriverContext(g_driver, g_shared);
    HspOwnerStart(g_shared, g_driver);
    if (kind)
        HspArmCrash(g_shared, (ULONG)kind);
    return 0;
}

static void __exit hsp_module_exit(void)
{
    HSP_SHARED *s = g_shared;
    HspOwnerStop(s);
    g_shared = NULL;
    misc_deregister(&hsp_device);
    HsDeleteDriverObject(g_driver); /* its extension goes with it */
    HspRelease(s);
}

#else /* version 2 */

static int __init hsp_module_init(void)
{
    int kind = hsp_crash_kind(), rc;
    NTSTATUS status;
    if (kind < 0)
        return kind;
    g_owner = HsReferenceDriverObject("hsprobe");
    if (!g_owner) {
        pr_err(HSP_NAME ": hsprobe (version 1) is not loaded; load hsprobe.ko first\n");
        return -ENOENT;
    }
    g_driver = HsCreateDriverObject(HSP_NAME, THIS_MODULE);
    status = g_driver ? HspGuestAttach((HSP_SHARED *)HsGetDriverContext(g_owner), g_driver,
                                       g_owner)
                      : STATUS_INSUFFICIENT_RESOURCES;
    rc = NT_SUCCESS(status) ? misc_register(&hsp_device) : -EINVAL;
    if (rc) {
        if (NT_SUCCESS(status)) {
            g_shared->images[2].driver = NULL;
            HspRelease(g_shared);
        } else {
            pr_err(HSP_NAME ": cannot attach to hsprobe (0x%08X): both must be one build\n",
                   (unsigned int)status);
        }
        g_shared = NULL;
        if (g_driver)
            HsDeleteDriverObject(g_driver);
        HsDereferenceDriverObject(g_owner);
        return rc;
    }
    if (kind)
        HspArmCrash(g_shared, (ULONG)kind);
    HspGuestStart(g_shared);
    return 0;
}

static void __exit hsp_module_exit(void)
{
    HSP_SHARED *s = g_shared;
    HspGuestStop(s);
    misc_deregister(&hsp_device);
    g_shared = NULL;
    HspRelease(s);
    HsDeleteDriverObject(g_driver);
    HsDereferenceDriverObject(g_owner);
}
#endif

module_init(hsp_module_init);
module_exit(hsp_module_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("hsprobe: the hot-swap test driver (Linux stand-in), image version "
                   __stringify(HSPROBE_VERSION));
MODULE_SOFTDEP("pre: hsproxy");
