"""The dashboards in chromium, on the demo data, logged in as demo: the overview's charts
drawn, a filter swapping only what it affects, the URL following (reload and back restore the
view), no request leaving the server, no Content-Security-Policy violation. And screenshots
of every page in French and English, on a laptop and on a phone, for a person to look at."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from kpiboard.demo import seed_demo
from metrics.models import KPI

from .conftest import screenshot as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAKERY = "boulangerie-martin"
WINES = "valais-fine-wines"
DRAWN = "() => !!document.documentElement.dataset.chartsDrawn"
# Every chart of the page drawn: each canvas holds plotly's SVG.
ALL_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('[data-figure]')];
  return canvases.length > 0 && canvases.every((c) => c.dataset.drawn === '1' && c.querySelector('.main-svg'));
}"""
# Content-Security-Policy violations, reported by the page itself.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def demo(transactional_db):
    seed_demo()


def open_page(make_page, live_server, language="en", width=1366, height=768):
    page = make_page("demo", "demo", language=language, width=width, height=height)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.add_init_script(WATCH_CSP)
    return page


def go(page, live_server, path):
    page.goto(f"{live_server.url}{path}")
    if page.locator("[data-figure]").count():
        page.wait_for_function(ALL_DRAWN)


def test_the_overview_draws_its_charts_and_follows_the_filters_in_the_url(
    make_page, live_server, demo
):
    page = open_page(make_page, live_server)
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" or "Security" in m.text else None,
    )

    go(page, live_server, f"/o/{BAKERY}/")
    followed = KPI.objects.filter(organization__slug=BAKERY, followed=True).count()
    expect(page.locator("#ov-tiles .tile .js-plotly-plot")).to_have_count(followed)
    first_url = page.url
    first_heading = page.locator("#ov-summary h2").inner_text()

    # Mark the page: a full reload would lose the marks, a swapped section loses its own.
    page.evaluate(
        """() => { window.__same_page = true;
                   for (const id of ['ov-summary', 'ov-tiles', 'ov-objectives', 'ov-campaigns'])
                     document.getElementById(id).dataset.mark = 'old'; }"""
    )
    page.select_option("#f-compare", "last_year")
    expect(page).to_have_url(re.compile(r"compare=last_year"))
    page.wait_for_function("() => !document.getElementById('ov-tiles').dataset.mark")
    page.wait_for_function(ALL_DRAWN)
    marks = page.evaluate(
        """() => [window.__same_page === true,
                  ...['ov-summary', 'ov-tiles', 'ov-objectives', 'ov-campaigns'].map(
                      (id) => document.getElementById(id).dataset.mark || null)]"""
    )
    # Only the summary and the tiles were swapped: objectives and campaigns were kept.
    assert marks == [True, None, None, "old", "old"]
    expect(page.locator("#ov-summary")).to_contain_text("same period last year")
    expect(page.locator("#ov-tiles .tile .js-plotly-plot")).to_have_count(followed)

    page.select_option("#f-period", "quarter")
    expect(page).to_have_url(re.compile(r"period=quarter"))
    page.wait_for_function("() => !document.getElementById('ov-objectives').dataset.mark")
    page.wait_for_function(ALL_DRAWN)
    quarter_heading = page.locator("#ov-summary h2").inner_text()
    assert re.fullmatch(r"Q\d \d{4}", quarter_heading), quarter_heading
    quarter_url = page.url
    assert page.evaluate("window.__same_page") is True

    page.reload()
    page.wait_for_function(ALL_DRAWN)
    assert page.url == quarter_url
    expect(page.locator("#ov-summary h2")).to_have_text(quarter_heading)
    expect(page.locator("#f-period")).to_have_value("quarter")
    expect(page.locator("#f-compare")).to_have_value("last_year")

    page.go_back()
    expect(page).to_have_url(re.compile(r"period=month.*compare=last_year"))
    page.wait_for_function(ALL_DRAWN)
    expect(page.locator("#ov-summary h2")).to_have_text(first_heading)
    expect(page.locator("#f-period")).to_have_value("month")
    page.go_back()
    expect(page).to_have_url(first_url)
    page.wait_for_function(ALL_DRAWN)
    expect(page.locator("#f-compare")).to_have_value("previous")

    # The period links move the view and the form follows.
    page.locator("#ov-summary a[rel=prev]").click()
    expect(page).to_have_url(re.compile(r"period=month&at=\d{4}-\d{2}"))
    page.wait_for_function("() => !document.getElementById('ov-tiles').dataset.mark")
    assert page.locator("#f-at").input_value() in page.url

    hosts = {urlsplit(url).hostname for url in requests if not url.startswith("data:")}
    assert hosts == {urlsplit(live_server.url).hostname}
    assert urlsplit(live_server.url).hostname in ("127.0.0.1", "localhost")
    assert page.evaluate("window.__csp") == []
    assert errors == []


def test_a_value_opens_its_inputs_and_the_bars_regroup_in_place(make_page, live_server, demo):
    page = open_page(make_page, live_server)
    kpi = KPI.objects.get(organization__slug=BAKERY, code="conversion_rate")
    go(page, live_server, f"/o/{BAKERY}/kpis/{kpi.pk}/")
    page.evaluate("() => { window.__same_page = true; }")
    page.locator("#kpi-monthly .value-link").nth(1).click()
    expect(page.locator("#kpi-inputs")).to_contain_text("conversions / visitors * 100")
    expect(page).to_have_url(re.compile(r"inputs=\d{4}-\d{2}"))
    expect(page.locator("#kpi-inputs")).to_be_focused()
    page.get_by_role("link", name="By channel").click()
    expect(page).to_have_url(re.compile(r"by=channel"))
    expect(page.locator("#kpi-bars .section-title a[aria-current=true]")).to_have_text("By channel")
    page.wait_for_function(ALL_DRAWN)
    assert page.evaluate("window.__same_page") is True
    assert page.evaluate("window.__csp") == []


def test_the_pages_work_without_javascript(browser, live_server, demo):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/o/{WINES}/")
    page.select_option("#f-period", "year")
    page.click(".filters-apply")
    expect(page).to_have_url(re.compile(r"period=year"))
    expect(page.locator("#ov-summary h2")).to_contain_text("FY")
    page.locator("#ov-summary a[rel=prev]").click()
    expect(page).to_have_url(re.compile(r"period=year&at="))
    context.close()


SIZES = {"1366": (1366, 768), "390": (390, 844)}
# The tables on show that scroll sideways inside their card (a data table folded in a
# closed <details> is laid out all the same: left out).
TABLES_SCROLLING = """() => [...document.querySelectorAll('.table-wrap')]
  .filter((w) => w.offsetParent && !w.closest('details:not([open])'))
  .filter((w) => w.scrollWidth > w.clientWidth + 1)
  .map((w) => (w.querySelector('caption, th') || w).textContent.trim().slice(0, 40)
    + ' +' + (w.scrollWidth - w.clientWidth) + 'px')"""
# How many pixels of the current page's link the navigation hides.
CURRENT_LINK_HIDDEN = """() => {
  const nav = document.querySelector('.mainnav'), link = nav.querySelector('[aria-current="page"]');
  if (!link) return 0;
  const n = nav.getBoundingClientRect(), r = link.getBoundingClientRect();
  return Math.max(0, n.left - r.left, r.right - n.right);
}"""


@pytest.mark.parametrize("language,slug", [("fr", BAKERY), ("en", WINES)])
def test_screenshots(make_page, live_server, demo, language, slug):
    kpi = KPI.objects.get(organization__slug=slug, code="conversion_rate")
    campaign = (
        KPI.objects.get(organization__slug=slug, code="cac").organization.campaigns.order_by("pk")
    ).first()
    paths = {
        "overview": f"/o/{slug}/",
        "kpis": f"/o/{slug}/kpis/",
        "kpi": f"/o/{slug}/kpis/{kpi.pk}/?inputs=period",
        "channels": f"/o/{slug}/channels/",
        "campaign": f"/o/{slug}/campaigns/{campaign.pk}/",
        "benchmarks": f"/o/{slug}/kpis/{KPI.objects.get(organization__slug=slug, code='roas').pk}/benchmarks/",
    }
    for size, (width, height) in SIZES.items():
        page = open_page(make_page, live_server, language, width, height)
        for name, path in paths.items():
            go(page, live_server, path)
            page.evaluate("window.scrollTo(0, 0)")
            save_screenshot(page, f"dashboard-{name}-{language}-{size}")
            assert page.evaluate("window.__csp") == [], name
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
            if width >= 1366:  # on a laptop every table fits its card: nothing cut off
                assert page.evaluate(TABLES_SCROLLING) == [], name
            # On a phone the navigation scrolls sideways: the current page's link is in view.
            assert page.evaluate(CURRENT_LINK_HIDDEN) <= 1, f"{name}: its link is out of view"
