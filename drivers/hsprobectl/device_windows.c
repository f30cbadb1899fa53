/*
 * device_windows.c: opening \\.\hsprobe, issuing IOCTLs, and starting/stopping the services.
 * Loading hsprobe2 is itself the swap to version 2 (drivers/README.md), so the tool drives
 * the SCM.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>

#include "device.h"

static int fail(const char *what, DWORD error)
{
    fprintf(stderr, "hsprobectl: %s failed (Win32 error %lu)", what, (unsigned long)error);
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_SERVICE_DOES_NOT_EXIST)
        fputs(": is the driver installed and loaded? see drivers/README.md", stderr);
    else if (error == ERROR_ACCESS_DENIED)
        fputs(": run hsprobectl as Administrator", stderr);
    fputc('\n', stderr);
    return HSP_EXIT_UNAVAILABLE;
}

int hsp_fail_last(const char *what)
{
    return fail(what, GetLastError());
}

static DWORD open_error;

hsp_dev *hsp_open(int version)
{
    HANDLE h = CreateFileW(version == 2 ? L"\\\\.\\hsprobe2" : L"\\\\.\\hsprobe",
                           GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (h != INVALID_HANDLE_VALUE)
        return (hsp_dev *)h;
    open_error = GetLastError();
    return NULL;
}

int hsp_open_failed(int version)
{
    return fail(version == 2 ? "opening \\\\.\\hsprobe2" : "opening \\\\.\\hsprobe",
                open_error);
}

void hsp_close(hsp_dev *d)
{
    CloseHandle((HANDLE)d);
}

int hsp_ioctl(hsp_dev *d, uint32_t code, const void *in, uint32_t in_len, void *out,
              uint32_t out_len)
{
    DWORD got = 0;
    if (!DeviceIoControl((HANDLE)d, code, (void *)in, in_len, out, out_len, &got, NULL))
        return fail("DeviceIoControl", GetLastError());
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

static DWORD service(const wchar_t *name, int start)
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

int hsp_load(int version, int load)
{
    DWORD err = service(version == 2 ? L"hsprobe2" : L"hsprobe", load);
    /* stopping hsprobe2 where it was never installed is not an error */
    if (!err || (!load && version == 2 && err == ERROR_SERVICE_DOES_NOT_EXIST))
        return 0;
    if (version == 2)
        return fail(load ? "starting service hsprobe2" : "stopping service hsprobe2", err);
    return fail(load ? "starting service hsprobe" : "stopping service hsprobe", err);
}

const char *hsp_dump_path(void)
{
    static char path[MAX_PATH];
    const char *root = getenv("SystemRoot");
    snprintf(path, sizeof path, "%s\\Temp\\hsprobe-unload.hspt", root ? root : "C:\\Windows");
    return path;
}

int hsp_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("hsprobectl: serve is the Linux stand-in's; on Windows run one command at a time\n",
          stderr);
    return HSP_EXIT_USAGE;
}
