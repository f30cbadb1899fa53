/* A native user-mode program (like smss.exe or autochk.exe): NATIVE subsystem, but it
   imports ntdll.dll, not the kernel. */
long NtTerminateProcess(void *process, long status);

void NtProcessStartup(void *peb)
{
    (void)peb;
    NtTerminateProcess((void *)-1, 0);
}
