/* A native image that imports nothing: it cannot call the kernel at all. */
long DriverEntry(void *driver, void *registry)
{
    (void)driver;
    (void)registry;
    return 0;
}
