/* A "driver" that also links a user-mode DLL: the kernel cannot bind user32.dll. */
unsigned long DbgPrint(const char *format, ...);
int MessageBeep(unsigned int type);

long DriverEntry(void *driver, void *registry)
{
    (void)driver;
    (void)registry;
    DbgPrint("user32 sample\n");
    return MessageBeep(0);
}
