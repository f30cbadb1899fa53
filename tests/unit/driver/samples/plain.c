/* A kernel driver that does not use DriverProxy: prints once and loads. */
unsigned long DbgPrint(const char *format, ...);

long DriverEntry(void *driver, void *registry)
{
    (void)driver;
    (void)registry;
    DbgPrint("plain sample driver\n");
    return 0;
}
