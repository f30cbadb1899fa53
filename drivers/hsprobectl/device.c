/*
 * device.c: opening \\.\hsprobe, issuing IOCTLs, and starting/stopping the services. Loading
 * hsprobe2 is itself the swap to version 2 (drivers/README.md), so the tool drives the SCM.
 */
#include "device.h"

#include <stdio.h>

int hsp_fail(const char *what, DWORD error)
{
    fprintf(stderr, "hsprobectl: %s failed (Win32 error %lu)", what, (unsigned long)error);
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_SERVICE_DOES_NOT_EXIST)
        fputs(": is the driver installed and loaded? see drivers/README.md", stderr);
    else if (error == ERROR_ACCESS_DENIED)
        fputs(": run hsprobectl as Administrator", stderr);
    fputc('\n', stderr);
    return HSP_EXIT_UNAVAILABLE;
}

HANDLE hsp_open(int version)
{
    return CreateFileW(version == 2 ? L"\\\\.\\hsprobe2" : L"\\\\.\\hsprobe",
                       GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
}

int hsp_ioctl(HANDLE h, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len)
{
    DWORD got = 0;
    if (!DeviceIoControl(h, code, (void *)in, in_len, out, out_len, &got, NULL))
        return hsp_fail("DeviceIoControl", GetLastError());
    if (got < out_len) {
        fprintf(stderr, "hsprobectl: the driver answered %lu bytes, expected %lu: driver and "
                        "tool come from different builds\n",
                (unsigned long)got, (unsigned long)out_len);
        return HSP_EXIT_UNAVAILABLE;
    }
    return 0;
}

static DWORD wait_state(SC_HANDLE svc, DWORD wanted)
{
    SERVICE_STATUS st;
    int i;
    for (i = 0; i < 300; i++) { /* 30 s: DriverUnload waits for workers to end */
        if (!QueryServiceStatus(svc, &st))
            return GetLastError();
        if (st.dwCurrentState == wanted)
            return 0;
        Sleep(100);
    }
    return ERROR_TIMEOUT;
}

DWORD hsp_service(const wchar_t *name, int start)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc;
    SERVICE_STATUS st;
    DWORD err = 0;
    if (!scm)
        return GetLastError();
    svc = OpenServiceW(scm, name, SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS);
    if (!svc) {
        err = GetLastError();
    } else if (start) {
        if (!StartServiceW(svc, 0, NULL) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
            err = GetLastError();
    } else if (!ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
        err = GetLastError() == ERROR_SERVICE_NOT_ACTIVE ? 0 : GetLastError();
    } else {
        err = wait_state(svc, SERVICE_STOPPED);
    }
    if (svc)
        CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return err;
}
