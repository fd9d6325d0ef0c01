"""Shared by the benchmark scripts: a throw-away PostgreSQL database and Django set up on it."""

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(dbname: str) -> None:
    """Create a fresh database `dbname` on the PostgreSQL of DATABASE_URL and migrate it."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kpiboard")
    server = base.rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = f"{server}/{dbname}"
    os.environ.pop("CELERY_BROKER_URL", None)  # tasks inline: the benchmark times them
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def drop_database(dbname: str) -> None:
    from django.db import connections

    connections.close_all()
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def report(name: str, value: float, unit: str) -> None:
    print(
        f"{name}: {value:.3f} {unit}" if isinstance(value, float) else f"{name}: {value} {unit}",
        flush=True,
    )


@contextmanager
def timed():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start
