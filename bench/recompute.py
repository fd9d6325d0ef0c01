"""bench/recompute: full and incremental KPI recompute on about 1 000 000 entries.

Four organizations of 200 campaigns x 20 metrics x 60 months (960 000 entries), loaded with
COPY. Reports the full recompute of one organization (240 000 entries), and the recompute
after one edited cell in that organization and in a small one (5 campaigns), to show that
it does not depend on the organization's size.
Goals (issue 3): full < 30 s; one cell < 100 ms.

Each full recompute runs in a child process so that its peak RSS (ru_maxrss) is its own; the
child also reports its RSS before the recompute (Django loaded, connected), and the peak of
the small organization shows whether the memory grows with the number of campaigns. The
rebuild runs over unchanged values, then again after every entry of the organization changed.
BENCH_RECOMPUTE_DB names the database (default kpiboard_bench_recompute).
"""

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from _common import ROOT, drop_database, report, setup_django

DB = os.environ.get("BENCH_RECOMPUTE_DB", "kpiboard_bench_recompute")
METRICS = ["sessions", "visitors", "bounces", "impressions", "reach", "clicks", "engagements",
           "followers", "emails_sent", "emails_opened", "email_clicks", "leads", "conversions",
           "carts", "orders", "new_customers", "customers_start", "customers_end", "revenue",
           "spend"]  # fmt: skip
CHANNELS = ["seo", "paid_search", "organic_social", "paid_social", "email", "display",
            "affiliation", "referral", "offline"]  # fmt: skip


def load(org, campaigns: int, months: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from metrics.periods import add_months

    created = Campaign.objects.bulk_create(
        Campaign(organization=org, name=f"Campaign {i}", channel=CHANNELS[i % len(CHANNELS)],
                 start_date=date(2021, 1, 1))
        for i in range(campaigns)
    )  # fmt: skip
    metrics = {m.code: (m.pk, m.kind) for m in org.metrics.all()}
    month_list = [add_months(date(2021, 1, 1), i) for i in range(months)]
    now = timezone.now()
    rng = random.Random(org.slug)
    sql = ("COPY metrics_metricentry (organization_id, campaign_id, metric_id, month, value, kind,"
           " version, source, updated_at) FROM STDIN")  # fmt: skip
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for campaign in created:
            for code in METRICS:
                metric_id, kind = metrics[code]
                for month in month_list:
                    value = Decimal(rng.randint(10, 100000))
                    copy.write_row(
                        (org.pk, campaign.pk, metric_id, month, value, kind, 1, "api", now)
                    )


def main() -> None:
    setup_django(DB)
    try:
        run()
    finally:
        drop_database(DB)


def run() -> None:
    from django.db import connection

    from campaigns.models import Campaign
    from kpiboard.services import organization_create
    from metrics import services
    from metrics.models import MetricEntry
    from metrics.recompute import kpis_recompute_stale
    from metrics.services import ValueWrite, entries_write

    big = []
    for index in range(4):
        org = organization_create(name=f"Big {index}", slug=f"big-{index}",
                                  fiscal_year_start_month=4 if index == 0 else 1)  # fmt: skip
        load(org, 200, 60)
        big.append(org)
    small = organization_create(name="Small", slug="small", fiscal_year_start_month=4)
    load(small, 5, 60)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    report("recompute.entries_total", MetricEntry.objects.count(), "entries")
    report("recompute.entries_one_org", MetricEntry.objects.filter(organization=big[0]).count(),
           "entries")  # fmt: skip

    small_run = run_child(small.slug)
    report("recompute.full_small_org_peak_rss", small_run["peak_mb"], "MB")
    first = run_child(big[0].slug)
    report("recompute.full_one_org_first", first["seconds"], "s")
    report("recompute.full_one_org_first_peak_rss", first["peak_mb"], "MB")
    # A rebuild over existing values (manage.py recompute_kpis).
    rebuild = run_child(big[0].slug)
    report("recompute.full_one_org_rebuild", rebuild["seconds"], "s")
    report("recompute.full_one_org_rebuild_peak_rss", rebuild["peak_mb"], "MB")
    report("recompute.full_one_org_rss_before", first["start_mb"], "MB")
    report("recompute.full_one_org_values", rebuild["values"], "kpi_values")
    # The same rebuild when every value changed (each entry + 1): every row is rewritten.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE metrics_metricentry SET value = value + 1, updated_at = now()"
            " WHERE organization_id = %s",
            [big[0].pk],
        )
    changed = run_child(big[0].slug)
    report("recompute.full_one_org_rebuild_all_changed", changed["seconds"], "s")
    report("recompute.full_one_org_rebuild_all_changed_peak_rss", changed["peak_mb"], "MB")

    # One edited cell: the edit commits (values, history, stale marks), then the recompute
    # the commit enqueues. Timed apart, and together as a person saving a cell waits for.
    services.schedule_recompute = lambda **kwargs: None
    for label, org in (("big", big[0]), ("small", small)):
        campaign = Campaign.objects.filter(organization=org).order_by("pk")[3]
        metric = org.metrics.get(code="visitors")
        recompute, total = [], []
        for i in range(21):
            month = date(2023, 1 + i % 12, 1)
            started = time.perf_counter()
            entries_write(
                organization=org,
                writes=[ValueWrite(campaign.pk, metric.pk, month, Decimal(1000 + i))],
                user=None,
            )
            written = time.perf_counter()
            kpis_recompute_stale(organization_id=org.pk)
            done = time.perf_counter()
            if i:  # the first one warms caches
                recompute.append(done - written)
                total.append(done - started)
        report(f"recompute.one_cell_{label}_org_median", statistics.median(recompute) * 1000, "ms")
        report(f"recompute.one_cell_{label}_org_p95", sorted(recompute)[18] * 1000, "ms")
        report(f"recompute.edit_and_recompute_{label}_org_median", statistics.median(total) * 1000,
               "ms")  # fmt: skip


def run_child(slug: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", slug],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | {"LOG_LEVEL": "WARNING"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(slug: str) -> None:
    """One full recompute in its own process: prints {"seconds", "peak_mb", "start_mb", ...}."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
    import django

    django.setup()
    from django.db import connection

    from kpiboard.models import Organization
    from metrics.recompute import kpis_recompute_all

    organization = Organization.objects.get(slug=slug)
    connection.ensure_connection()
    start_mb = rss_mb()
    started = time.perf_counter()
    values = kpis_recompute_all(organization=organization)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "start_mb": start_mb,
                      "values": values}))  # fmt: skip


def rss_mb() -> float:
    """The current resident set size (Linux)."""
    with Path("/proc/self/statm").open() as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])  # _common has put the project on the path
    else:
        main()
