/* A driver that imports from another kernel module (fltmgr.sys), as minifilters do. */
long FltGetFilterInformation(void *filter, int cls, void *buffer, unsigned long size,
                             unsigned long *returned);
unsigned long DbgPrint(const char *format, ...);

long DriverEntry(void *driver, void *registry)
{
    (void)registry;
    DbgPrint("filter sample\n");
    return FltGetFilterInformation(driver, 0, 0, 0, 0);
}
