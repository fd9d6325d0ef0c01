"""bench/dashboard: the overview of a big organization, served by gunicorn, next to a bare view.

    python -m bench dashboard

One organization of 200 campaigns x 20 metrics x 60 months (240 000 entries, loaded with
COPY as bench/recompute does), its KPIs recomputed, budgets, targets and objectives set.
gunicorn serves it on 127.0.0.1 (DEBUG off, static files collected and compressed,
WhiteNoise); in the same run and the same way, /healthz is the bare Django view. Reports:

- the median latency of each with one connection (wrk -c1), and the ratio; with, for
  reference, the floor of any organization page (session, user, membership, layout: the
  empty benchmarks page of a KPI, which is not cached);
- the throughput of each with 16 connections (wrk -c16), and the ratio;
- the overview when the cache cannot answer: the median of requests each made right after a
  change of the organization's data (its data version moves: the page is rendered again),
  next to the bare view requested the same way (one new connection per request, from
  Python), and the ratio;
- in chromium, the time from navigation to every chart of the overview drawn (first visit,
  then the median of warm visits, static files cached);
- the overview's number of SQL queries, rendered and from the cache.

The server is configured as in production (docker-compose.yml): the cache, and the sessions
through it, in Redis (BENCH_CACHE_URL, default redis://127.0.0.1:6379/13; its keys carry a
prefix of their own and expire). wrk's figures are mostly cache hits: the rendered page is
kept until the data changes; the "cold" lines are what a person sees right after a change.

Goals (issue "Dashboards"): median <= 8x the bare view's; throughput >= 1/30 of the bare
view's; charts drawn within 1 s of navigation.

BENCH_WORKERS sets gunicorn's workers (default: 2 x CPUs); BENCH_SECONDS the length of each
wrk run (default 8); BENCH_DASHBOARD_DB=<name> reuses an existing loaded database (kept).
"""

import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, drop_database, report, setup_django

DB = "kpiboard_bench_dashboard"
REUSE = os.environ.get("BENCH_DASHBOARD_DB", "")
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))
SLUG = "bench-dashboard"
SECRET_KEY = "bench-dashboard-secret-key-not-for-production-0123456789abcdef"
SERVER_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_HSTS_SECONDS": "0",
    "LOG_LEVEL": "WARNING",
    "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13"),
    "CACHE_KEY_PREFIX": f"bench-dashboard-{os.getpid()}",
}
COLD_REQUESTS = 30


def main() -> None:
    os.environ.update(SERVER_ENV)
    static_root = tempfile.mkdtemp(prefix="kpiboard-bench-static-")
    os.environ["STATIC_ROOT"] = static_root
    if REUSE:
        _use_existing(REUSE)
    else:
        setup_django(DB)
    try:
        run(static_root)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
        drop_cache_keys()
        if not REUSE:
            drop_database(DB)


def drop_cache_keys() -> None:
    """This run's keys in Redis (pages, and sessions that would otherwise stay two weeks)."""
    if not SERVER_ENV["CACHE_URL"].startswith(("redis://", "rediss://", "unix://")):
        return
    import redis

    server = redis.Redis.from_url(SERVER_ENV["CACHE_URL"])
    for key in server.scan_iter(f"{SERVER_ENV['CACHE_KEY_PREFIX']}:*"):
        server.delete(key)


def _use_existing(name: str) -> None:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kpiboard")
    os.environ["DATABASE_URL"] = f"{base.rsplit('/', 1)[0]}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpiboard.settings")
    import django

    django.setup()


def load_organization():
    """The organization, loaded once (kept in a reused database)."""
    from django.db import connection
    from recompute import load

    from campaigns.models import Campaign, Objective
    from kpiboard.models import Organization
    from kpiboard.services import organization_create
    from metrics.models import Target
    from metrics.periods import add_months
    from metrics.recompute import kpis_recompute_all

    existing = Organization.objects.filter(slug=SLUG).first()
    if existing is not None:
        return existing
    org = organization_create(name="Bench Dashboard", slug=SLUG, currency="EUR", language="en")
    started = time.perf_counter()
    load(org, 200, 60)  # 2021-01 .. 2025-12
    for index, campaign in enumerate(Campaign.objects.filter(organization=org).order_by("pk")):
        campaign.budget = Decimal(120_000 + 1_000 * (index % 40))
        campaign.save(update_fields=["budget"])
    kpis = {k.code: k for k in org.kpis.all()}
    Target.objects.bulk_create(
        Target(organization=org, kpi=kpis[code], month=add_months(date(2024, 1, 1), i), value=v)
        for code, v in (("conversion_rate", Decimal(100)), ("cac", Decimal(2)), ("roi", Decimal(5)))
        for i in range(24)
    )
    campaigns = list(Campaign.objects.filter(organization=org).order_by("pk")[:6])
    for index, (code, baseline, target) in enumerate(
        (("conversion_rate", 90, 110), ("cac", 3, 2), ("roi", 4, 6))
    ):
        objective = Objective.objects.create(
            organization=org, title=f"Objective {index + 1}", kpi=kpis[code],
            category="conversion", baseline_value=Decimal(baseline),
            baseline_start=date(2024, 1, 1), baseline_end=date(2024, 12, 1),
            target_value=Decimal(target), start_date=date(2025, 1, 1),
            deadline=date(2026, 6, 30),
        )  # fmt: skip
        objective.campaigns.add(*campaigns[index * 2 : index * 2 + (1 if index == 0 else 2)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    kpis_recompute_all(organization=org)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    report("dashboard.load_and_recompute", time.perf_counter() - started, "s")
    return org


def session_cookie(org) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from kpiboard.models import Role
    from kpiboard.services import membership_set

    user, created = get_user_model().objects.get_or_create(username="bench-viewer")
    if created:
        membership_set(organization=org, user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, **SERVER_ENV}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "kpiboard.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, cookie: str, connections: int) -> dict[str, float]:
    threads = min(connections, 4)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{SECONDS}s",
            "--latency",
            "-H",
            f"Cookie: sessionid={cookie}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed responses\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))
    return {"rate": rate, "p50": p50}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def charts_drawn(url: str, port: int, cookie: str, visits: int = 6) -> list[float]:
    """Milliseconds from navigation to every chart drawn, first visit first."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update"],
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        context.add_cookies(
            [{"name": "sessionid", "value": cookie, "url": f"http://127.0.0.1:{port}"}]
        )
        page = context.new_page()
        for _ in range(visits):
            page.goto(url)
            page.wait_for_function("document.documentElement.dataset.chartsDrawn", timeout=20000)
            times.append(float(page.evaluate("document.documentElement.dataset.chartsDrawn")))
        browser.close()
    return times


def count_queries(org, cookie: str) -> tuple[int, int]:
    """The overview's queries when it is rendered (after a change), then from the cache."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kpiboard.data_version import organization_data_changed

    client = Client()
    client.cookies["sessionid"] = cookie
    organization_data_changed(organization_id=org.pk)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/o/{org.slug}/", HTTP_HOST="127.0.0.1")
        assert response.status_code == 200, response.status_code
        counts.append(len(queries.captured_queries))
    return counts[0], counts[1]


def one_request_ms(port: int, path: str, cookie: str) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000


def cold(port: int, org, cookie: str) -> tuple[float, float]:
    """Median of the overview right after a change (no cache can answer), and of the bare
    view, each request on a new connection, alternately."""
    from kpiboard.data_version import organization_data_changed

    overview, bare = [], []
    for _ in range(COLD_REQUESTS):
        organization_data_changed(organization_id=org.pk)  # committed: autocommit
        overview.append(one_request_ms(port, f"/o/{org.slug}/", cookie))
        bare.append(one_request_ms(port, "/healthz", cookie))
    return statistics.median(overview), statistics.median(bare)


def run(static_root: str) -> None:
    from django.core.management import call_command

    org = load_organization()
    call_command("collectstatic", interactive=False, verbosity=0)
    cookie = session_cookie(org)
    rendered, cached = count_queries(org, cookie)
    report("dashboard.overview_queries", rendered, "queries (rendered)")
    report("dashboard.overview_queries_cached", cached, "queries (from the cache)")
    port = free_port()
    server = start_gunicorn(port)
    try:
        bare = f"http://127.0.0.1:{port}/healthz"
        overview = f"http://127.0.0.1:{port}/o/{org.slug}/"
        # The floor of any organization page: session, user, membership, the layout; here
        # the (empty) benchmarks page of a KPI.
        floor = (
            f"http://127.0.0.1:{port}/o/{org.slug}/kpis/{org.kpis.get(code='nps').pk}/benchmarks/"
        )
        with urllib.request.urlopen(
            urllib.request.Request(overview, headers={"Cookie": f"sessionid={cookie}"})
        ) as response:
            assert response.status == 200 and b"kpi-tiles" in response.read(), "not the overview"
        for url in (bare, floor, overview):  # warm them: imports, templates, connections
            wrk(url, cookie, 2)
        one_bare = wrk(bare, cookie, 1)
        one_floor = wrk(floor, cookie, 1)
        one_overview = wrk(overview, cookie, 1)
        report("dashboard.bare_p50_1conn", one_bare["p50"], "ms")
        report("dashboard.org_page_floor_p50_1conn", one_floor["p50"], "ms")
        report("dashboard.overview_p50_1conn", one_overview["p50"], "ms")
        report(
            "dashboard.overview_vs_bare_p50", one_overview["p50"] / one_bare["p50"], "x (goal <= 8)"
        )
        many_bare = wrk(bare, cookie, 16)
        many_overview = wrk(overview, cookie, 16)
        report("dashboard.bare_rps_16conn", many_bare["rate"], "req/s")
        report("dashboard.overview_rps_16conn", many_overview["rate"], "req/s")
        report(
            "dashboard.bare_vs_overview_rps",
            many_bare["rate"] / many_overview["rate"],
            "x (goal <= 30)",
        )
        cold_overview, cold_bare = cold(port, org, cookie)
        report("dashboard.overview_cold_p50", cold_overview, "ms (rendered: right after a change)")
        report("dashboard.bare_p50_python_client", cold_bare, "ms (the same client)")
        report("dashboard.overview_cold_vs_bare_p50", cold_overview / cold_bare, "x (no goal)")
        from kpiboard.data_version import organization_data_changed

        organization_data_changed(organization_id=org.pk)  # the first visit renders the page
        times = charts_drawn(overview, port, cookie)
        report("dashboard.charts_drawn_first_visit", times[0], "ms (goal <= 1000)")
        report(
            "dashboard.charts_drawn_warm_median", statistics.median(times[1:]), "ms (goal <= 1000)"
        )
    finally:
        stop(server)


if __name__ == "__main__":
    main()
