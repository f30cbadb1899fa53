// SPDX-License-Identifier: GPL-2.0
/*
 * hscrash: crashes the test guest's kernel on purpose, so that triage is tested on real
 * oopses, panics and ELF dumps. Test fixture only; the stand-in's own crash switch lives in
 * drivers/linux. mode= null (NULL dereference in a named routine), bug (BUG() in a named
 * "swap phase"), hung (a kernel thread stuck in TASK_UNINTERRUPTIBLE), panic (panic()).
 */
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>

static char *mode = "none";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "none, null, bug, hung or panic");

struct hscrash_worker {
	int *counter;
};

/* noinline: each crash must have its own frame, as a real driver routine would */
static noinline int hscrash_routine(struct hscrash_worker *worker)
{
	return READ_ONCE(*worker->counter) + 1;
}

static noinline void hscrash_swap_phase(int phase)
{
	pr_info("hscrash: swap phase %d\n", phase);
	BUG_ON(phase == 2);
}

static noinline int hscrash_hung_worker(void *unused)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule();
	return 0;
}

static int __init hscrash_init(void)
{
	static struct hscrash_worker worker; /* counter stays NULL */
	int phase;

	pr_info("hscrash: mode=%s\n", mode);
	if (!strcmp(mode, "null"))
		pr_info("hscrash: %d\n", hscrash_routine(&worker));
	else if (!strcmp(mode, "bug"))
		for (phase = 0; phase < 4; phase++)
			hscrash_swap_phase(phase);
	else if (!strcmp(mode, "hung"))
		kthread_run(hscrash_hung_worker, NULL, "hscrash_worker");
	else if (!strcmp(mode, "panic"))
		panic("hscrash: requested panic");
	return 0;
}

module_init(hscrash_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("crash the test guest kernel on purpose (triage tests)");
