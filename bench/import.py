"""bench import: a 1 000 000-row long CSV imported, next to `psql \\copy` of the same file.

    python -m bench import            (BENCH_IMPORT_ROWS=200000 for a quicker run)

Prints, for the same file in the same run:
- two floors: `psql \\copy` of the file into a bare table (no checks, no index), and into a
  table with just the entries' unique key (the cheapest table that holds the values
  correctly: a second copy of a row would be refused); each copied twice, the best kept,
- the import (checked, staged with COPY, merged with history and stale marks), and its
  peak memory; the KPI recompute it triggers, alone; both together;
- a second import of the same file (nothing changes);
- the import's ratios to both floors.
Each measured step runs in a child process so that its peak RSS is its own.
BENCH_IMPORT_DB names the throw-away database (one per concurrent run).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, drop_database, report, setup_django

DB = os.environ.get("BENCH_IMPORT_DB", "kpiboard_bench_import")  # one per concurrent run
ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
ORG = "bench-import"
MONTHS = [f"{year}-{month:02d}" for year in range(2020, 2025) for month in range(1, 13)]
CODES = [
    "sessions", "visitors", "bounces", "impressions", "reach", "clicks", "engagements",
    "mentions", "emails_sent", "emails_opened", "email_clicks", "leads", "conversions",
    "carts", "orders", "new_customers", "revenue", "spend", "promoters", "passives",
    "detractors",
]  # fmt: skip


def campaign_name(index: int) -> str:
    return f"Campaign {index:04d}"


def generate(path: Path, rows: int) -> int:
    """A long CSV: month, campaign, metric, value. Returns the number of campaigns."""
    per_campaign = len(MONTHS) * len(CODES)
    campaigns = -(-rows // per_campaign)
    written = 0
    seed = 12345
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("month,campaign,metric,value\n")
        lines = []
        for index in range(campaigns):
            name = campaign_name(index)
            for month in MONTHS:
                for code in CODES:
                    if written == rows:
                        break
                    seed = (seed * 1103515245 + 12345) % 2**31
                    value = seed % 100_000
                    if code in ("revenue", "spend"):
                        lines.append(f"{month},{name},{code},{value}.{seed % 100:02d}\n")
                    else:
                        lines.append(f"{month},{name},{code},{value}\n")
                    written += 1
            if len(lines) > 50_000:
                out.writelines(lines)
                lines = []
        out.writelines(lines)
    return campaigns


def run_child(mode: str, path: Path) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # every measured step starts from the same state
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"IMPORT_MAX_BYTES": str(10**10), "LOG_LEVEL": "WARNING"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(mode: str, path: Path) -> None:
    """One measured step, in its own process: prints {"seconds": ..., "peak_mb": ...}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
    import django

    django.setup()
    from imports.services import ImportOptions, import_run
    from kpiboard.models import Organization
    from metrics import tasks
    from metrics.recompute import kpis_recompute_stale

    organization = Organization.objects.get(slug=ORG)
    if mode == "import":  # the recompute it asks for is measured on its own, below
        tasks.recompute_kpis.delay = lambda *args, **kwargs: None
    extra = phases()
    start = time.perf_counter()
    if mode == "recompute":
        extra["kpi_values"] = kpis_recompute_stale(organization_id=organization.pk)
    else:
        with path.open("rb") as stream:
            result = import_run(
                organization=organization,
                stream=stream,
                filename=path.name,
                options=ImportOptions(),
                user=None,
            )
        if not result.applied:
            raise SystemExit(f"refused: {[str(p) for p in result.check.problems[:5]]}")
        counts = result.check.counts
        extra |= {"created": counts.created, "updated": counts.updated}
    seconds = time.perf_counter() - start
    if "read_end" in extra:
        extra["read"] = extra.pop("read_end") - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, **extra}))


def phases() -> dict:
    """Where an import's time goes: reading and checking the file (its values streamed to
    the staging table meanwhile), merging them, and the commit (the deferred foreign-key
    checks of every row written). Filled in as the import runs."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    from imports import staging

    times: dict = {}

    def timed(cls, name, key):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            begin = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                times[key] = times.get(key, 0) + time.perf_counter() - begin
                if key == "staging":
                    times["read_end"] = time.perf_counter()

        setattr(cls, name, wrapper)

    timed(staging.PostgresStager, "finish", "staging")
    timed(staging.PostgresStager, "apply", "merge")
    timed(DatabaseWrapper, "commit", "commit")
    return times


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE metrics_valuechange, metrics_metricentry, metrics_stalemark,"
            " metrics_kpivalue, metrics_metricaggregate, imports_importbatch CASCADE"
        )


def psql_copy(table: str, path: Path) -> float:
    """Seconds `psql \\copy` takes to load the file into `table` (emptied first)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute("CHECKPOINT")  # each copy starts from the same state
    server = os.environ["DATABASE_URL"].split("//", 1)[1]
    user_host = server.split("/", 1)[0]
    user, host = user_host.split("@") if "@" in user_host else ("postgres", user_host)
    start = time.perf_counter()
    subprocess.run(
        ["psql", "-h", host.split(":")[0], "-U", user, "-d", DB, "-q", "-c",
         f"\\copy {table} FROM '{path}' WITH (FORMAT csv, HEADER true)"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    setup_django(DB)
    from datetime import date

    from django.db import connection

    from campaigns.models import Campaign
    from kpiboard.services import organization_create

    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "metrics-long.csv"
            campaigns = generate(path, ROWS)
            organization = organization_create(
                name="Bench import", slug=ORG, currency="EUR", language="en"
            )
            Campaign.objects.bulk_create(
                Campaign(
                    organization=organization,
                    name=campaign_name(index),
                    channel=("seo", "email", "paid_search", "display")[index % 4],
                    start_date=date(2020, 1, 1),
                )
                for index in range(campaigns)
            )
            report("import_rows", ROWS, "rows")
            report("import_file_size", round(path.stat().st_size / 1e6, 1), "MB")

            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE bench_raw (month text, campaign text, metric text, value numeric)"
                )
                cursor.execute(
                    "CREATE TABLE bench_keyed (month text, campaign text, metric text,"
                    " value numeric, PRIMARY KEY (campaign, metric, month))"
                )
            copy_seconds = min(psql_copy("bench_raw", path) for _ in range(2))
            keyed_seconds = min(psql_copy("bench_keyed", path) for _ in range(2))
            report("import_psql_copy_time", copy_seconds, "s")
            report("import_psql_copy_keyed_time", keyed_seconds, "s")

            first = run_child("import", path)
            report("import_time", first["seconds"], "s")
            report("import_read_and_check_time", first["read"], "s")
            report("import_merge_time", first["merge"], "s")
            report("import_commit_time", first["commit"], "s")
            report("import_peak_rss", round(first["peak_mb"]), "MB")
            recompute = run_child("recompute", path)
            report("import_recompute_time", recompute["seconds"], "s")
            report("import_recompute_peak_rss", round(recompute["peak_mb"]), "MB")

            reset()
            both = run_child("import+recompute", path)
            report("import_with_recompute_time", both["seconds"], "s")
            report("import_with_recompute_peak_rss", round(both["peak_mb"]), "MB")
            again = run_child("import", path)
            report("import_again_time", again["seconds"], "s")
            report("import_again_changed", again["created"] + again["updated"], "values")

            report("import_vs_copy", first["seconds"] / copy_seconds, "x (goal <= 2)")
            report("import_vs_keyed_copy", first["seconds"] / keyed_seconds, "x")
            report(
                "import_with_recompute_vs_copy",
                both["seconds"] / copy_seconds,
                "x (goal <= 5)",
            )
            report("import_with_recompute_vs_keyed_copy", both["seconds"] / keyed_seconds, "x")
    finally:
        drop_database(DB)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":  # _common put the project on the path
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
