"""`harness farm`: many hosts on one queue. `enqueue PLAN` queues a run's cells as jobs
(`--signoff B`: only B's required cells, before any nightly job); `worker` serves the jobs
this host can (`--serve sim`, `--serve lab:CONFIG`), and with `--nightly PLAN --at CRON` queues
the periodic nightly."""

from __future__ import annotations

import argparse
import sys

from harness.cli.arguments import count, seconds

__all__ = ["add_arguments", "main"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    enq = sub.add_parser("enqueue", help="queue a run of a plan as jobs")
    enq.add_argument("plan", metavar="PLAN")
    enq.add_argument(
        "--signoff",
        metavar="B",
        help="a sign-off run: only build B's required cells, at high priority",
    )
    enq.add_argument("--store", metavar="URL", help="PostgreSQL store (default: the plan's)")
    enq.add_argument(
        "--resume", metavar="RUN", help="queue again the cells of run RUN that are not done"
    )
    work = sub.add_parser("worker", help="serve the jobs this host can run")
    work.add_argument("--store", metavar="URL", required=True, help="the lab's PostgreSQL")
    work.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="CAP",
        help="a capability: sim, or lab:CONFIG (repeatable; default: sim)",
    )
    work.add_argument(
        "--parallel",
        type=count,
        default=2,
        metavar="N",
        help="simulator cells at once on this host (default 2)",
    )
    work.add_argument("--name", default="worker", help="this worker's name (default worker)")
    work.add_argument(
        "--logs", default="farm-logs", metavar="DIR", help="cell worker logs (default farm-logs)"
    )
    work.add_argument(
        "--heartbeat",
        type=seconds,
        default=10.0,
        metavar="S",
        help="seconds between heartbeats (default 10)",
    )
    work.add_argument(
        "--stalled-after",
        type=seconds,
        default=30.0,
        metavar="S",
        help="a job whose worker sent no heartbeat for S seconds is retried (default 30)",
    )
    work.add_argument("--nightly", metavar="PLAN", help="queue a run of PLAN periodically")
    work.add_argument(
        "--at",
        default="0 2 * * *",
        metavar="CRON",
        help="when (cron; a 6th field is seconds) (default: 02:00 daily)",
    )
    work.add_argument(
        "--until-empty",
        action="store_true",
        help="stop when the queues are empty (default: serve until stopped)",
    )


def _say(text: str) -> None:
    print(f"farm: {text}", file=sys.stderr, flush=True)


def main(args: argparse.Namespace) -> int:
    from harness.store import require_extra

    require_extra("farm")
    from pathlib import Path

    from harness.store import open_results_store

    if args.action == "enqueue":
        from harness.farm.enqueue import enqueue, signoff_cells
        from harness.nightly import store_url
        from harness.plan import load_plan

        loaded = load_plan(args.plan)
        store = open_results_store(store_url(loaded, args.store))
        try:
            kind = "signoff" if args.signoff else "nightly"
            only = signoff_cells(args.signoff) if args.signoff else None
            run_id = enqueue(store, loaded, kind=kind, only=only, resume=args.resume)
            print(f"run {run_id}: {len(store.cells(run_id))} cell(s) queued ({kind})")
        finally:
            store.close()
        return 0
    from harness.farm.runtime import Runtime
    from harness.farm.worker import serve

    store = open_results_store(args.store)
    try:
        runtime = Runtime(
            store,
            args.serve or ["sim"],
            parallel=args.parallel,
            name=args.name,
            logs=Path(args.logs),
            say=_say,
        )
        _say(
            f"{runtime.name} serving {', '.join(runtime.queues)} with {runtime.concurrency} slot(s)"
        )
        nightly = (str(Path(args.nightly).resolve()), args.at) if args.nightly else None
        serve(
            store,
            runtime,
            heartbeat=args.heartbeat,
            stalled_after=args.stalled_after,
            nightly=nightly,
            wait=not args.until_empty,
            say=_say,
        )
    finally:
        store.close()
    return 0
