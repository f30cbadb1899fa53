/*
 * main.c: hsproxy's module parameters, the named kernel bugs, clocks, the IRQL analogue and
 * bug checks.
 *
 *   insmod hsproxy.ko [feature=enabled|disabled|blocked] [convention=documented|inverted]
 *                     [bugs=NAME,NAME...] [drain_ms=N]
 */
#include "internal.h"

#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

static char *feature = "enabled";
module_param(feature, charp, 0444);
MODULE_PARM_DESC(feature, "enabled (default), disabled (NOT_SUPPORTED) or blocked "
                          "(DRIVER_BLOCKED: the driver is excluded)");
static char *convention = "documented";
module_param(convention, charp, 0444);
MODULE_PARM_DESC(convention, "documented (TRUE keeps the worker running, default) or inverted "
                             "(TRUE ends it, as ACPI.sys expects)");
static char *bugs = "";
module_param(bugs, charp, 0444);
MODULE_PARM_DESC(bugs, "named kernel bugs to switch on, comma-separated (see drivers/README.md)");
unsigned int hs_drain_ms = 2000;
module_param_named(drain_ms, hs_drain_ms, uint, 0444);
MODULE_PARM_DESC(drain_ms, "how long a swap waits for calls in flight before UNSUCCESSFUL (ms)");

enum hs_feature hs_feature;
enum hs_convention hs_convention;
static unsigned long hs_bugs;

/* same names as harness/sim/mutants.py */
static const char *const hs_bug_names[HS_BUG_COUNT] = {
    [HS_BUG_LOST_WAKEUP] = "lost-wakeup",
    [HS_BUG_NO_DRAIN] = "no-drain",
    [HS_BUG_PARTIAL_SWITCH] = "partial-switch",
    [HS_BUG_SWAP_RECREATES_THREAD] = "swap-recreates-thread",
    [HS_BUG_DISPATCH_LEVEL] = "dispatch-level",
    [HS_BUG_EARLY_TIMEOUT] = "early-timeout",
    [HS_BUG_TIMEOUT_NEVER_FIRES] = "timeout-never-fires",
    [HS_BUG_WRONG_WAIT_INDEX] = "wrong-wait-index",
    [HS_BUG_ALERT_IGNORED] = "alert-ignored",
    [HS_BUG_CONVENTION_FLIPPED] = "convention-flipped",
    [HS_BUG_RETURN_IGNORED] = "return-ignored",
    [HS_BUG_NO_ROLLBACK] = "no-rollback",
    [HS_BUG_PARAMETER_MISMATCH_ACCEPTED] = "parameter-mismatch-accepted",
    [HS_BUG_RAW_ROUTINE_ACCEPTED] = "raw-routine-accepted",
    [HS_BUG_BAD_PARAMETERS_ACCEPTED] = "bad-parameters-accepted",
    [HS_BUG_PHASES_OUT_OF_ORDER] = "phases-out-of-order",
    [HS_BUG_STALL_LEAK] = "stall-leak",
    [HS_BUG_OLD_ROUTINE_AFTER_SWAP] = "old-routine-after-swap",
};

bool hs_bug(enum hs_bug bug)
{
    return test_bit(bug, &hs_bugs);
}

/* the object type hsprobe names when it references a thread; hsproxy has only threads */
static struct _OBJECT_TYPE *hs_thread_type;
POBJECT_TYPE *PsThreadType = &hs_thread_type;
EXPORT_SYMBOL(PsThreadType);

/* IRQL on Linux: 15 with interrupts off (or in a hard interrupt / NMI), 2 with preemption
   disabled (a spinlock held, preempt_disable()), 1 in a softirq or with bottom halves off,
   0 when preemptible with interrupts on. The debugger reads the same state from a stopped
   CPU: RFLAGS.IF and the per-CPU __preempt_count (drivers/README.md). */
KIRQL KeGetCurrentIrql(void)
{
    if (irqs_disabled() || in_hardirq() || in_nmi())
        return HIGH_LEVEL;
    if (preempt_count() & PREEMPT_MASK)
        return DISPATCH_LEVEL;
    if (softirq_count())
        return APC_LEVEL;
    return PASSIVE_LEVEL;
}
EXPORT_SYMBOL(KeGetCurrentIrql);

/* 100 ns units since 1601-01-01, from the real-time clock */
#define HS_EPOCH_1601 116444736000000000LL

VOID KeQuerySystemTimePrecise(PLARGE_INTEGER CurrentTime)
{
    struct timespec64 ts;
    ktime_get_real_ts64(&ts);
    CurrentTime->QuadPart = HS_EPOCH_1601 + ts.tv_sec * 10000000LL + ts.tv_nsec / 100;
}
EXPORT_SYMBOL(KeQuerySystemTimePrecise);

/* interrupt time: CLOCK_MONOTONIC in 100 ns units, the clock relative timeouts run on here
   (clock adjustments do not move it); the nanoseconds stand in for the QPC stamp */
ULONG64 KeQueryInterruptTimePrecise(PULONG64 QpcTimeStamp)
{
    u64 ns = ktime_get_ns();
    if (QpcTimeStamp)
        *QpcTimeStamp = ns;
    return ns / 100;
}
EXPORT_SYMBOL(KeQueryInterruptTimePrecise);

void KeBugCheckEx(ULONG Code, ULONG_PTR P1, ULONG_PTR P2, ULONG_PTR P3, ULONG_PTR P4)
{
    panic("hsproxy: bug check 0x%08X (0x%lx, 0x%lx, 0x%lx, 0x%lx)\n", Code, P1, P2, P3, P4);
}
EXPORT_SYMBOL(KeBugCheckEx);

static int hs_choose(const char *what, const char *value, const char *const *names, int count)
{
    int i;
    for (i = 0; i < count; i++)
        if (!strcmp(value, names[i]))
            return i;
    pr_err("hsproxy: %s=%s is not one of the accepted values\n", what, value);
    return -EINVAL;
}

static int hs_parse_bugs(const char *text)
{
    char *copy = kstrdup(text, GFP_KERNEL), *rest = copy, *name;
    int i, rc = 0;
    if (!copy)
        return -ENOMEM;
    while (!rc && (name = strsep(&rest, ",+")) != NULL) {
        if (!*name)
            continue;
        for (i = 0; i < HS_BUG_COUNT && strcmp(name, hs_bug_names[i]); i++)
            ;
        if (i == HS_BUG_COUNT) {
            pr_err("hsproxy: unknown bug '%s'; known bugs:", name);
            for (i = 0; i < HS_BUG_COUNT; i++)
                pr_cont(" %s", hs_bug_names[i]);
            pr_cont("\n");
            rc = -EINVAL;
        } else {
            set_bit(i, &hs_bugs);
        }
    }
    kfree(copy);
    return rc;
}

static int __init hs_init(void)
{
    static const char *const features[] = {"enabled", "disabled", "blocked"};
    static const char *const conventions[] = {"documented", "inverted"};
    int f = hs_choose("feature", feature, features, ARRAY_SIZE(features));
    int c = hs_choose("convention", convention, conventions, ARRAY_SIZE(conventions));
    int rc;
    if (f < 0 || c < 0)
        return -EINVAL;
    hs_feature = f;
    hs_convention = c;
    rc = hs_parse_bugs(bugs);
    if (rc)
        return rc;
    pr_info("hsproxy: feature=%s convention=%s bugs=%s drain_ms=%u\n", feature, convention,
            *bugs ? bugs : "none", hs_drain_ms);
    return 0;
}

static void __exit hs_exit(void)
{
}

module_init(hs_init);
module_exit(hs_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("hsproxy: the DriverProxy contract as a Linux module (the hot-swap stand-in)");
