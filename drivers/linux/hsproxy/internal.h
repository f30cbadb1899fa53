/*
 * internal.h: hsproxy's own structures and the interfaces between its files.
 */
#ifndef HSPROXY_INTERNAL_H
#define HSPROXY_INTERNAL_H

#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "hsproxy.h"

/* DISPATCHER_HEADER.Type, the NT object type numbers */
#define HS_OBJECT_NOTIFICATION_EVENT 0
#define HS_OBJECT_SYNCHRONIZATION_EVENT 1
#define HS_OBJECT_THREAD 6

/* -- module parameters (main.c) -------------------------------------------------------- */
enum hs_feature { HS_FEATURE_ENABLED, HS_FEATURE_DISABLED, HS_FEATURE_BLOCKED };
enum hs_convention { HS_DOCUMENTED, HS_INVERTED };

/* Named kernel bugs (bugs=), each mirroring the simulator mutant of the same name
   (harness/sim/mutants.py), so a run on a real kernel can be shown to fail. */
enum hs_bug {
    HS_BUG_LOST_WAKEUP,
    HS_BUG_NO_DRAIN,
    HS_BUG_PARTIAL_SWITCH,
    HS_BUG_SWAP_RECREATES_THREAD,
    HS_BUG_DISPATCH_LEVEL,
    HS_BUG_EARLY_TIMEOUT,
    HS_BUG_TIMEOUT_NEVER_FIRES,
    HS_BUG_WRONG_WAIT_INDEX,
    HS_BUG_ALERT_IGNORED,
    HS_BUG_CONVENTION_FLIPPED,
    HS_BUG_RETURN_IGNORED,
    HS_BUG_NO_ROLLBACK,
    HS_BUG_PARAMETER_MISMATCH_ACCEPTED,
    HS_BUG_RAW_ROUTINE_ACCEPTED,
    HS_BUG_BAD_PARAMETERS_ACCEPTED,
    HS_BUG_PHASES_OUT_OF_ORDER,
    HS_BUG_STALL_LEAK,
    HS_BUG_OLD_ROUTINE_AFTER_SWAP,
    HS_BUG_COUNT
};

extern enum hs_feature hs_feature;
extern enum hs_convention hs_convention;
extern unsigned int hs_drain_ms;
bool hs_bug(enum hs_bug bug);

/* -- threads (thread.c) ----------------------------------------------------------------- */
struct hs_worker; /* worker.c: what makes a thread a hot-swappable worker */

struct _KTHREAD {
    DISPATCHER_HEADER Header; /* signalled when the thread ends */
    refcount_t refs;          /* the thread itself, plus each handle and reference */
    struct task_struct *task;
    pid_t tid;
    PKSTART_ROUTINE start;
    PVOID context;
    NTSTATUS exit_status;
    /* under the dispatcher lock */
    BOOLEAN alerted[2];          /* by KPROCESSOR_MODE */
    BOOLEAN exiting;             /* no more APCs: they were run down */
    struct list_head user_apcs;  /* queued, never delivered: no user mode to return to */
    struct hs_wait *wait;        /* the wait in progress */
    KWAIT_BLOCK wait_blocks[THREAD_WAIT_OBJECTS];
    struct hs_worker *worker;    /* NULL for plain system threads */
};

/* the hsproxy thread running now, NULL on any other task */
PKTHREAD hs_current_thread(void);
/* a new thread running start(context), with one reference for the caller (its handle) */
NTSTATUS hs_thread_start(PKSTART_ROUTINE start, PVOID context, struct hs_worker *worker,
                         PHANDLE handle, PCLIENT_ID cid);
/* the thread ends (or, for the swap-recreates-thread bug, goes on as a new task) */
void hs_thread_exit(PKTHREAD t, NTSTATUS status) __attribute__((noreturn));
void hs_thread_recreate(PKTHREAD t); /* returns only when no new task could be made */

/* -- the dispatcher (dispatcher.c) ------------------------------------------------------- */
/* signal a dispatcher object that stays signalled (a thread at exit) */
void hs_signal_object(DISPATCHER_HEADER *h);
/* the thread's queued user APCs, taken off it at exit */
void hs_rundown_apcs(PKTHREAD t);

/* -- DriverProxy (proxy.c, worker.c) ------------------------------------------------------ */
#define HS_MAX_ENDPOINTS 16  /* per extension */
#define HS_WRAPPERS 32       /* wrapper functions, over all extensions */
#define HS_MAX_PARAMETERS 6  /* what a wrapper passes on (the x86-64 argument registers) */

struct hs_endpoint {
    ULONG id;
    PVOID function;
    ULONG params;
    int slot; /* its wrapper: hs_wrappers[slot] */
};

struct hs_table {
    ULONG count;
    struct hs_endpoint ep[HS_MAX_ENDPOINTS];
};

struct _DRIVER_PROXY_EXTENSION {
    PDRIVER_OBJECT owner;
    spinlock_t lock;       /* stalled, in_flight, table, workers */
    struct mutex reg;      /* one registration at a time */
    wait_queue_head_t wq;  /* calls waiting out a stall; a drain waiting for calls */
    bool stalled;
    long in_flight;        /* calls inside an endpoint, through any wrapper */
    struct hs_table table;
    struct list_head workers;
};

void hs_extension_free(PDRIVER_PROXY_EXTENSION ext);
/* the endpoint behind `routine` if it is one of ext's wrappers, else -1 */
int hs_wrapper_index(PDRIVER_PROXY_EXTENSION ext, PVOID routine);
/* worker threads of ext: a swap with swap-recreates-thread marks them */
void hs_workers_recreate(PDRIVER_PROXY_EXTENSION ext);
void hs_worker_add(PDRIVER_PROXY_EXTENSION ext, struct list_head *link);
void hs_worker_remove(PDRIVER_PROXY_EXTENSION ext, struct list_head *link);
void hs_worker_done(PKTHREAD t); /* thread exit: free the worker's copy of the context */
bool hs_worker_raises(PKTHREAD t); /* dispatch-level bug: call the routine non-preemptible */

/* -- driver objects (driver.c) ----------------------------------------------------------- */
struct _DRIVER_OBJECT {
    struct list_head link;
    refcount_t refs;
    char name[32];
    struct module *owner;
    PVOID context;
    PDRIVER_PROXY_EXTENSION extension;
    bool gone;
};
extern struct mutex hs_driver_lock; /* driver list, and each driver's extension pointer */

#endif
