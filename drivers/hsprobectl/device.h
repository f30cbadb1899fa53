/*
 * device.h: the OS end of hsprobectl, the only part that differs between Windows
 * (device_windows.c: DeviceIoControl on \\.\hsprobe, the service manager) and Linux
 * (device_linux.c: ioctl on /dev/hsprobe, finit_module / delete_module). Everything else in
 * this directory is portable C shared by both builds.
 */
#ifndef HSP_DEVICE_H
#define HSP_DEVICE_H

#include "hsp_ioctl.h"

/* exit codes: 0 done (the printed status is the kernel's answer), 2 usage, 3 unavailable */
#define HSP_EXIT_USAGE 2
#define HSP_EXIT_UNAVAILABLE 3

typedef struct hsp_dev hsp_dev; /* an open control device */

/* image `version`'s control device, or NULL when it is not loaded (hsp_open_failed says so) */
hsp_dev *hsp_open(int version);
/* prints why the last hsp_open(version) failed; returns HSP_EXIT_UNAVAILABLE */
int hsp_open_failed(int version);
/* one request; returns 0 or prints why it failed and returns HSP_EXIT_UNAVAILABLE */
int hsp_ioctl(hsp_dev *d, uint32_t code, const void *in, uint32_t in_len, void *out,
              uint32_t out_len);
void hsp_close(hsp_dev *d);
/* load (start its service) or unload image `version`; 0 when done or already so, else prints
   why and returns HSP_EXIT_UNAVAILABLE */
int hsp_load(int version, int load);
/* where the driver writes its ring at unload */
const char *hsp_dump_path(void);
/* prints what failed with the OS's last error; returns HSP_EXIT_UNAVAILABLE */
int hsp_fail_last(const char *what);
/* `hsprobectl serve PORT`: commands answered by one resident process (Linux only) */
int hsp_serve(int argc, char **argv);

#endif
