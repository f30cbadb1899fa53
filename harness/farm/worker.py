"""A farm worker: procrastinate's worker on the queues this host can serve, one job per free
machine slot, plus a watch for stalled jobs (a worker that stopped sending heartbeats, e.g.
killed): their jobs go back to the queue for another worker, and the cell's abandoned
attempt never counts. With `--nightly PLAN --at CRON`, the periodic nightly too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.farm.jobs import CONTROL, farm_app, nightly_tick
from harness.farm.runtime import Runtime
from harness.store.results import ResultsStore

__all__ = ["serve"]


async def _retry_stalled(
    app: object, every: float, stalled_after: float, say: Callable[[str], None]
) -> None:
    manager = app.job_manager  # type: ignore[attr-defined]
    while True:
        await asyncio.sleep(every)
        try:
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                await manager.retry_job(job)
                say(f"job {job.id} ({job.task_kwargs}) stalled (its worker stopped): retried")
        except Exception as e:  # the database may be away for a moment: look again later
            say(f"stalled-job watch: {e}")


async def _serve(
    store: ResultsStore,
    runtime: Runtime,
    *,
    heartbeat: float,
    stalled_after: float,
    nightly: tuple[str, str] | None,
    wait: bool,
    say: Callable[[str], None],
) -> None:
    with farm_app(store) as app:
        if nightly is not None:
            plan, cron = nightly
            app.periodic(
                cron=cron, periodic_id=Path(plan).stem, queue=CONTROL, task_kwargs={"plan": plan}
            )(nightly_tick)
        await _work(
            app, runtime, heartbeat=heartbeat, stalled_after=stalled_after, wait=wait, say=say
        )


async def _work(
    app: Any,
    runtime: Runtime,
    *,
    heartbeat: float,
    stalled_after: float,
    wait: bool,
    say: Callable[[str], None],
) -> None:
    async with app.open_async():
        watch = asyncio.create_task(_retry_stalled(app, max(heartbeat, 0.5), stalled_after, say))
        try:
            await app.run_worker_async(
                queues=[*runtime.queues, CONTROL],
                name=runtime.name,
                concurrency=runtime.concurrency + 1,
                wait=wait,
                additional_context={"farm": runtime},
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                install_signal_handlers=True,
                fetch_job_polling_interval=1.0,
            )
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


def serve(
    store: ResultsStore,
    runtime: Runtime,
    *,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    nightly: tuple[str, str] | None = None,
    wait: bool = True,
    say: Callable[[str], None] = print,
) -> None:
    """Serve jobs until stopped (SIGINT/SIGTERM), or until the queues are empty (`wait`
    false)."""
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    try:
        asyncio.run(
            _serve(
                store,
                runtime,
                heartbeat=heartbeat,
                stalled_after=stalled_after,
                nightly=nightly,
                wait=wait,
                say=say,
            )
        )
    finally:
        runtime.stop()
