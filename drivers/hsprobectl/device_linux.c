/*
 * device_linux.c: the Linux stand-in's end of hsprobectl. ioctl on /dev/hsprobe (the request
 * spelled out as an hsp_buffer, hsp_ioctl.h), and loading / unloading the modules with
 * finit_module / delete_module, as the Windows build starts and stops services. The modules
 * are looked for in $HSPROBE_MODULES, else beside hsprobectl itself, else in
 * /lib/modules/$(uname -r)/extra (where a guest image installs them).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "device.h"

struct hsp_dev {
    int fd;
};

static int open_errno;

static const char *device_path(int version)
{
    return version == 2 ? HSP_LINUX_DEVICE_V2 : HSP_LINUX_DEVICE_V1;
}

static const char *module_name(int version)
{
    return version == 2 ? "hsprobe2" : "hsprobe";
}

static int fail(const char *what, const char *target, int error, const char *hint)
{
    fprintf(stderr, "hsprobectl: %s%s%s failed (%s)", what, *target ? " " : "", target,
            strerror(error));
    if (error == EACCES || error == EPERM)
        hint = "run hsprobectl as root";
    fprintf(stderr, "%s%s\n", hint ? ": " : "", hint ? hint : "");
    return HSP_EXIT_UNAVAILABLE;
}

int hsp_fail_last(const char *what)
{
    return fail(what, "", errno, NULL);
}

hsp_dev *hsp_open(int version)
{
    hsp_dev *d;
    int fd = open(device_path(version), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        open_errno = errno;
        return NULL;
    }
    d = malloc(sizeof *d);
    if (!d) {
        open_errno = ENOMEM;
        close(fd);
        return NULL;
    }
    d->fd = fd;
    return d;
}

int hsp_open_failed(int version)
{
    return fail("opening", device_path(version), open_errno,
                open_errno == ENOENT ? "is the module loaded? insmod hsproxy.ko, then "
                                       "hsprobe.ko (see drivers/README.md)"
                                     : NULL);
}

void hsp_close(hsp_dev *d)
{
    close(d->fd);
    free(d);
}

int hsp_ioctl(hsp_dev *d, uint32_t code, const void *in, uint32_t in_len, void *out,
              uint32_t out_len)
{
    hsp_buffer b;
    memset(&b, 0, sizeof b);
    b.in = (uint64_t)(uintptr_t)in;
    b.out = (uint64_t)(uintptr_t)out;
    b.in_len = in_len;
    b.out_len = out_len;
    if (ioctl(d->fd, code, &b) < 0) {
        fprintf(stderr, "hsprobectl: ioctl 0x%08x failed (%s, status 0x%08X)\n", code,
                strerror(errno), b.status);
        return HSP_EXIT_UNAVAILABLE;
    }
    if (b.returned < out_len) {
        fprintf(stderr, "hsprobectl: the driver answered %u bytes, expected %u: driver and "
                        "tool come from different builds\n",
                b.returned, out_len);
        return HSP_EXIT_UNAVAILABLE;
    }
    return 0;
}

/* $HSPROBE_MODULES/NAME.ko if set; else the first that exists of NAME.ko beside this
   program and /lib/modules/RELEASE/extra/NAME.ko (the last one when neither does) */
static void module_path(char *path, size_t size, const char *name)
{
    char self[PATH_MAX];
    const char *dir = getenv("HSPROBE_MODULES");
    struct utsname uts;
    ssize_t n;
    if (dir) {
        snprintf(path, size, "%s/%s.ko", dir, name);
        return;
    }
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    snprintf(path, size, "%s/%s.ko", n > 0 ? dirname(self) : ".", name);
    if (access(path, R_OK) == 0 || uname(&uts) != 0)
        return;
    snprintf(path, size, "/lib/modules/%s/extra/%s.ko", uts.release, name);
}

int hsp_load(int version, int load)
{
    const char *name = module_name(version);
    char path[PATH_MAX];
    int fd, rc;
    if (!load) {
        /* not loaded counts as unloaded; exit waits for the workers to end */
        if (syscall(SYS_delete_module, name, O_NONBLOCK) == 0 || errno == ENOENT)
            return 0;
        return fail("unloading module", name, errno, NULL);
    }
    module_path(path, sizeof path, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("opening", path, errno,
                    "set HSPROBE_MODULES to the directory with the .ko files");
    rc = (int)syscall(SYS_finit_module, fd, "", 0);
    if (rc != 0 && errno != EEXIST) {
        rc = errno;
        close(fd);
        return fail("loading", path, rc,
                    rc == ENOEXEC || rc == EINVAL
                        ? "built for another kernel, or a bad parameter (see dmesg); rebuild "
                          "with make -C drivers linux"
                        : NULL);
    }
    close(fd);
    return 0;
}

const char *hsp_dump_path(void)
{
    return HSP_LINUX_UNLOAD_DUMP;
}
