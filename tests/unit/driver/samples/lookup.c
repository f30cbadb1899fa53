/* A driver that finds DriverProxy at run time, by name, as hsprobe does: the routine names
   are UTF-16 strings for MmGetSystemRoutineAddress, never imports. */
typedef struct {
    unsigned short Length, MaximumLength;
    const unsigned short *Buffer;
} UNICODE_STRING;
void *MmGetSystemRoutineAddress(UNICODE_STRING *name);

static const unsigned short create[] = u"IoDriverProxyCreateHotSwappableWorkerThread";
static const unsigned short features[] = u"IoGetDriverProxyFeatures";

long DriverEntry(void *driver, void *registry)
{
    UNICODE_STRING a = {sizeof create - 2, sizeof create, create};
    UNICODE_STRING b = {sizeof features - 2, sizeof features, features};
    (void)driver;
    (void)registry;
    return MmGetSystemRoutineAddress(&a) && MmGetSystemRoutineAddress(&b) ? 0 : -1;
}
