"""The schedule: APScheduler 3 runs each configured job on its interval or cron trigger in a
worker thread (the heavy work then goes to the process pool). An overrunning run is skipped,
not stacked (max_instances=1, coalesce=True), and the skip is audited."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .audit import AuditLog
from .cycle import run_job
from .evaluator import close_shared_pools
from .settings import JobSettings, OptimizerSettings

log = logging.getLogger(__name__)

Runner = Callable[[OptimizerSettings, JobSettings, AuditLog], dict[str, Any]]
SKIPS_KEPT = 100
"""Job names of the latest skipped runs kept in `skipped` (`skips` counts them all; each is audited)."""
MISFIRE_GRACE_S = 60
"""A run that could not start within this many seconds of its time is dropped (coalesced)."""


def trigger_of(job: JobSettings) -> IntervalTrigger | CronTrigger:
    if job.cron:
        return CronTrigger.from_crontab(job.cron)
    assert job.interval_s is not None
    return IntervalTrigger(seconds=job.interval_s)


class OptimizerService:
    """Owns the scheduler and the audit log; `start()`, `run_now()`, `shutdown()`."""

    def __init__(self, settings: OptimizerSettings, runner: Runner = run_job) -> None:
        self.settings = settings
        self.runner = runner
        self.audit = AuditLog(settings.data_dir / "audit.jsonl")
        self.skipped: deque[str] = deque(maxlen=SKIPS_KEPT)
        self.skips = 0
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(len(settings.jobs), 1))},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S})
        self.scheduler.add_listener(self._on_skip, EVENT_JOB_MAX_INSTANCES)

    def start(self) -> None:
        for job in self.settings.jobs:
            self.scheduler.add_job(self.runner, trigger_of(job), args=(self.settings, job, self.audit), id=job.name,
                                   name=job.name, replace_existing=True)
        self.scheduler.start()
        log.info("optimizer scheduled %d job(s): %s", len(self.settings.jobs),
                 ", ".join(j.name for j in self.settings.jobs))

    def run_now(self, name: str | None = None) -> None:
        """Runs the job (every job when `name` is None) at once; skipped while it is running."""
        now = datetime.now(self.scheduler.timezone)
        for job in self.scheduler.get_jobs():
            if name is None or job.id == name:
                job.modify(next_run_time=now)
        self.scheduler.wakeup()

    def _on_skip(self, event: JobSubmissionEvent) -> None:
        self.skipped.append(event.job_id)
        self.skips += 1
        log.warning("job %s is still running: this run is skipped", event.job_id)
        self.audit.record({"job": event.job_id, "outcome": "skipped", "reasons": ["the previous run is still running"]})

    def shutdown(self, wait: bool = True) -> None:
        """Stops scheduling; with `wait`, a run under way finishes (and is audited) first; then
        the evaluation workers stop."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if wait:
            close_shared_pools()
