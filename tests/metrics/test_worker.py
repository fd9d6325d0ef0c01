"""The recompute through a real Celery worker on Redis, as in production.

These tests start `celery worker` processes against the test database. They fail (never
skip) when Redis is not there: `make test` starts it.
"""

import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import pools as kombu_pools

from kpiboard.celery import app
from metrics.models import KPIValue, StaleMark
from metrics.services import ValueWrite, entries_write

pytestmark = [pytest.mark.worker, pytest.mark.xdist_group("worker")]

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}.")


class Worker:
    def __init__(self, tmp_path: Path, *, beat: bool):
        db = settings.DATABASES["default"]
        self.log = tmp_path / f"worker-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER_URL,
            "KPI_SWEEP_SECONDS": "1",
            "KPI_SWEEP_GRACE_SECONDS": "0",
        }
        command = [sys.executable, "-m", "celery", "-A", "kpiboard", "worker", "--pool=solo",
                   "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for(lambda: "ready." in self.log.read_text() or self.process.poll() is not None,
                 60, "the Celery worker to start")  # fmt: skip
        if self.process.poll() is not None:
            pytest.fail(f"The Celery worker died at start:\n{self.log.read_text()}")

    def kill(self):
        """Kill the whole worker at once, as the OOM killer or a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker():
    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is needed at {BROKER_URL} (make test starts it): {error}")
    with broker_to_ourselves():
        client.flushdb()
        saved = (app.conf.broker_url, app.conf.task_always_eager)
        reset_connections()
        app.conf.broker_url = BROKER_URL
        app.conf.task_always_eager = False
        yield client
        reset_connections()
        app.conf.broker_url, app.conf.task_always_eager = saved
        client.flushdb()


@contextmanager
def broker_to_ourselves():
    """One test at a time on the broker, across the processes of `pytest -n`: the
    xdist_group mark does not keep these tests in one process, and two of them at once
    flush each other's messages, or one's worker takes the other's task (for a row of
    another test database), which then never runs where it is awaited."""
    name = hashlib.sha256(BROKER_URL.encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"kpiboard-test-broker-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def reset_connections():
    """Forget connections made with another broker setting earlier in this process (kombu
    keeps pools in a registry of its own, besides the app's)."""
    kombu_pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def workers(transactional_db, broker, tmp_path):
    started = []

    def start(*, beat=False):
        worker = Worker(tmp_path, beat=beat)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def write_cac_inputs(org, campaign):
    metrics = {m.code: m.pk for m in org.metrics.all()}
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, metrics["spend"], date(2025, 1, 1), Decimal(50000)),
            ValueWrite(campaign.pk, metrics["new_customers"], date(2025, 1, 1), Decimal(15)),
        ],
        user=None,
    )


def cac_value(org):
    row = KPIValue.objects.filter(organization=org, kpi__code="cac", scope="all",
                                  grain="month", period_start=date(2025, 1, 1)).first()  # fmt: skip
    return row.value if row else None


def test_a_worker_recomputes_after_a_change(workers, org, campaign):
    workers()
    write_cac_inputs(org, campaign)  # commits: the task goes to Redis
    value = wait_for(lambda: cac_value(org), 30, "the worker to store the CAC")
    assert value.quantize(Decimal("0.01")) == Decimal("3333.33")
    wait_for(lambda: not StaleMark.objects.filter(organization=org).exists(), 10, "marks cleared")


def test_the_sweep_repairs_what_a_worker_killed_mid_task_left(workers, org, campaign):
    first = workers()
    # Hold the organization's lock (as a running recompute does) so that the task blocks
    # inside its transaction. NO KEY UPDATE, like the recompute: writes are not blocked.
    db = settings.DATABASES["default"]

    def task_is_waiting():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND wait_event_type = 'Lock' AND query ILIKE %s",
                [db["NAME"], "%kpiboard_organization%FOR NO KEY UPDATE%"],
            )
            return cursor.fetchone()[0] > 0

    blocker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"])
    try:
        blocker.execute(
            "SELECT id FROM kpiboard_organization WHERE id = %s FOR NO KEY UPDATE", [org.pk]
        )
        write_cac_inputs(org, campaign)
        wait_for(task_is_waiting, 60, "the task to be running (blocked on the lock)")
        first.kill()
    finally:
        blocker.close()  # releases the lock, whatever happened

    # The killed task committed nothing: the change is still marked, nothing is computed.
    assert StaleMark.objects.filter(organization=org).exists()
    assert cac_value(org) is None

    # Redis keeps the unacknowledged message until its visibility timeout (an hour): a new
    # worker does not get it back. The periodic sweep is what repairs the values.
    workers(beat=True)
    value = wait_for(lambda: cac_value(org), 60, "the sweep to recompute the CAC")
    assert value.quantize(Decimal("0.01")) == Decimal("3333.33")
    wait_for(lambda: not StaleMark.objects.filter(organization=org).exists(), 10, "marks cleared")
