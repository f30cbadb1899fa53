/* device.h: the Windows end of hsprobectl: the control device and the two services. */
#ifndef HSP_DEVICE_H
#define HSP_DEVICE_H

#include <windows.h>

#include "hsp_ioctl.h"

/* exit codes: 0 done (the printed status is the kernel's answer), 2 usage, 3 unavailable */
#define HSP_EXIT_USAGE 2
#define HSP_EXIT_UNAVAILABLE 3

HANDLE hsp_open(int version); /* INVALID_HANDLE_VALUE when that image is not loaded */
/* one IOCTL; returns 0 or prints why it failed and returns HSP_EXIT_UNAVAILABLE */
int hsp_ioctl(HANDLE h, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len);
/* start or stop a service; returns 0 or a Win32 error */
DWORD hsp_service(const wchar_t *name, int start);
int hsp_fail(const char *what, DWORD error);

#endif
