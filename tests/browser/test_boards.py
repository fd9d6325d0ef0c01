"""Boards in chromium at 1920x1080: the TV screen behind a share link, present mode, the
board's page; rotation, keyboard, refresh in place, a network cut, a revoked link, and the
page's memory over hundreds of slide changes."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from boards import services
from metrics.recompute import kpis_recompute_all
from metrics.services import ValueWrite, entries_write
from tests.boards.conftest import full_board, last_complete_month, seed

from .conftest import CHROMIUM, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TV = {"width": 1920, "height": 1080}
INVALID = "This screen link is no longer valid"
CURRENT_CHART = ".slide.is-current [data-chart] .main-svg"
# True once the current slide is drawn: its charts have their SVG (a slide may have none).
DRAWN = """() => {
  const slide = document.querySelector('.slide.is-current');
  return !!slide && [...slide.querySelectorAll('[data-chart]')]
    .every((box) => box.querySelector('.main-svg'));
}"""


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    settings.BOARD_SCREEN_RATE_PER_TOKEN = (1000, 60)
    settings.BOARD_SCREEN_RATE_PER_IP = (1000, 60)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="module")
def precise_browser(browser):
    """A chromium that reports its JS heap exactly (performance.memory is coarse otherwise)."""
    precise = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-precise-memory-info"],
    )
    yield precise
    precise.close()


# What a browser logs for the failed requests these tests cause on purpose.
EXPECTED = (
    "Failed to load resource",
    "Response Status Error Code",
    "htmx:afterRequest",
    "htmx:sendError",
)


def watch_errors(page) -> list[str]:
    """Script errors and unexpected console errors of a page."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith(EXPECTED)
            else None
        ),
    )
    return errors


# The elements of the slide on screen that reach into its right margin or past its bottom.
SPILLED = """() => {
  const slide = document.querySelector('.slide.is-current');
  const margin = parseFloat(getComputedStyle(slide).paddingRight);
  return [...slide.querySelectorAll('*')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width && (r.right > innerWidth - margin + 1 || r.bottom > innerHeight + 1);
  }).map(e => e.tagName + ' ' + e.textContent.trim().slice(0, 30));
}"""


def current_id(page) -> str:
    return page.evaluate("() => document.querySelector('.slide.is-current').dataset.slideId")


def screen_board(org, user, *, seconds=5, data=None):
    board = services.board_create(organization=org, name="Wall TV", user=user)
    data = data or seed(org)
    services.slide_add(
        organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="conversion_rate"),
        comparison="last_year", duration_seconds=seconds,
    )  # fmt: skip
    services.slide_add(
        organization=org, board=board, kind="channels", period="year_to_date",
        duration_seconds=seconds,
    )  # fmt: skip
    return board


def test_a_share_link_screen_rotates_survives_a_network_cut_and_ends_when_revoked(
    make_page, live_server, settings, org, admin_user
):
    settings.BOARD_REFRESH_SECONDS = 2
    board = screen_board(org, admin_user)
    link, token = services.share_link_create(organization=org, board=board, label="Lobby TV")
    page = make_page(**TV)
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/screen/{token}/")

    expect(page.locator(CURRENT_CHART).first).to_be_visible()
    assert page.context.cookies() == []
    first = current_id(page)
    page.wait_for_function(
        "(id) => document.querySelector('.slide.is-current').dataset.slideId !== id",
        arg=first,
        timeout=9000,
    )
    page.wait_for_function(DRAWN)
    assert page.locator(".js-plotly-plot").count() == 1  # the slide that left was purged
    expect(page.locator("[data-counter]")).to_have_text("2 / 2")
    expect(page.locator("[data-stamp-view]")).to_contain_text("data as of")

    # The network drops: the slide stays, with its chart, and a badge says since when.
    page.keyboard.press(" ")
    expect(page.locator("[data-paused]")).to_be_visible()
    shown = current_id(page)
    page.route("**/refresh/", lambda route: route.abort())
    badge = page.locator("[data-offline]")
    expect(badge).to_be_visible(timeout=8000)
    expect(badge).to_contain_text("Offline since")
    page.wait_for_timeout(2500)  # another failed refresh: nothing moves
    assert current_id(page) == shown
    expect(page.locator(CURRENT_CHART).first).to_be_visible()
    screenshot(page, "board-offline-en")

    # It comes back by itself.
    page.unroute("**/refresh/")
    expect(badge).to_be_hidden(timeout=8000)
    assert current_id(page) == shown

    # Revoked: the next refresh ends on the invalid-link page.
    services.share_link_revoke(organization=org, link=link, user=admin_user)
    expect(page.locator(".board-invalid h1")).to_have_text(INVALID, timeout=8000)
    assert page.url == f"{live_server.url}/screen/{token}/"
    assert page.locator("a").count() == 0
    screenshot(page, "board-invalid-en")
    assert errors == []


def test_the_refresh_updates_the_slide_on_screen_in_place(
    make_page, live_server, settings, org, admin_user
):
    settings.BOARD_REFRESH_SECONDS = 2
    board = screen_board(org, admin_user)
    _link, token = services.share_link_create(organization=org, board=board)
    page = make_page(**TV)
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/screen/{token}/")
    page.wait_for_function(DRAWN)
    page.keyboard.press(" ")  # stay on the KPI slide
    value = page.locator(".slide.is-current .big-value")
    before = value.inner_text()
    page.evaluate(
        """() => {
          window.kept = { slide: document.querySelector('.slide.is-current'),
                          chart: document.querySelector('.slide.is-current .main-svg') };
        }"""
    )
    box = page.locator(".slide.is-current .chart").bounding_box()

    campaign = org.campaigns.get(channel="paid_search")
    conversions = org.metrics.get(code="conversions")
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, conversions.pk, last_complete_month(), Decimal(900))],
        user=admin_user,
    )
    kpis_recompute_all(organization=org)

    expect(value).not_to_have_text(before, timeout=8000)
    same = page.evaluate(
        """() => window.kept.slide === document.querySelector('.slide.is-current')
              && window.kept.chart === document.querySelector('.slide.is-current .main-svg')"""
    )
    assert same  # updated with Plotly.react, not redrawn from scratch
    assert page.locator(".slide.is-current .chart").bounding_box() == box
    assert errors == []


def test_a_member_presents_with_the_keyboard(make_page, live_server, org, viewer, admin_user):
    board = screen_board(org, admin_user)
    services.slide_add(organization=org, board=board, kind="tiles", duration_seconds=5)
    page = make_page("vera", "pw-vera", **TV)
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/o/acme/boards/{board.pk}/present/")
    page.wait_for_function(DRAWN)
    ids = list(board.slides.values_list("pk", flat=True))
    assert current_id(page) == str(ids[0])
    page.keyboard.press("ArrowRight")
    assert current_id(page) == str(ids[1])
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert current_id(page) == str(ids[2])  # round to the last
    page.keyboard.press("PageDown")  # a presenter's clicker
    assert current_id(page) == str(ids[0])
    expect(page.locator("[data-counter]")).to_have_text("1 / 3")

    page.keyboard.press(" ")
    expect(page.locator("[data-paused]")).to_be_visible()
    page.wait_for_timeout(6000)  # longer than the slide's 5 seconds
    assert current_id(page) == str(ids[0])
    page.keyboard.press(" ")
    expect(page.locator("[data-paused]")).to_be_hidden()
    page.wait_for_function(
        "(id) => document.querySelector('.slide.is-current').dataset.slideId !== id",
        arg=str(ids[0]),
        timeout=7000,
    )

    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_server.url}/o/acme/boards/{board.pk}/")
    assert errors == []


def test_hours_of_rotation_do_not_grow_the_pages_memory(
    precise_browser, live_server, settings, org, admin_user
):
    settings.BOARD_REFRESH_SECONDS = 3  # refreshes swap data in during the run too
    board = full_board(org, admin_user)
    _link, token = services.share_link_create(organization=org, board=board)
    context = precise_browser.new_context(viewport=TV)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/screen/{token}/")
    page.wait_for_function(DRAWN).dispose()
    cdp = context.new_cdp_session(page)

    def turn(times):
        for _ in range(times):
            page.keyboard.press("ArrowRight")
            page.wait_for_function(DRAWN).dispose()  # a kept handle would grow the heap

    def heap():
        for _ in range(3):
            cdp.send("HeapProfiler.collectGarbage")
        return page.evaluate("() => performance.memory.usedJSHeapSize")

    def nodes():
        return page.evaluate("() => document.getElementsByTagName('*').length")

    # Warm-up: every slide drawn and purged 25 times; V8's compiled code and plotly's text
    # measures settle (the heap rises about 3 MB, then flattens).
    turn(150)
    before, nodes_before = heap(), nodes()
    turn(150)
    after, nodes_after = heap(), nodes()
    growth = after - before
    print(f"\nJS heap: {before / 1e6:.2f} MB after warm-up, {after / 1e6:.2f} MB after 150 "
          f"more slide changes ({growth / 1e3:+.0f} kB); DOM {nodes_before} -> {nodes_after} "
          "elements")  # fmt: skip
    # One chart kept alive per change would be 15 MB or more here.
    assert growth < 2_000_000
    assert abs(nodes_after - nodes_before) < 50
    assert page.locator(".js-plotly-plot").count() <= 1
    assert errors == []
    context.close()


@pytest.mark.parametrize("theme", ["dark", "light", "contrast"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_kind_of_slide_in_every_theme(
    make_page, live_server, org, admin_user, theme, language
):
    org.language = language
    org.save(update_fields=["language"])
    board = full_board(org, admin_user, theme=theme)
    _link, token = services.share_link_create(organization=org, board=board)
    page = make_page(language=language, **TV)
    page.emulate_media(reduced_motion="reduce")
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/screen/{token}/")  # each slide lasts 20 s: time to look
    expect(page.locator("html")).to_have_attribute("lang", language)
    for number, slide in enumerate(board.slides.all(), start=1):
        page.wait_for_function(DRAWN)
        assert current_id(page) == str(slide.pk)
        # Nothing spills out of the screen, nor out of the slide's margins.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= TV["width"]
        assert page.evaluate(SPILLED) == [], slide.kind
        screenshot(page, f"board-{theme}-{language}-{number}-{slide.kind}")
        page.keyboard.press("ArrowRight")
    assert errors == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_admin_composes_a_board_and_shares_it(make_page, live_server, org, admin_user, language):
    seed(org)
    page = make_page("alice", "pw-alice", language=language)
    if language == "fr":
        page.context.add_cookies(
            [{"name": "django_language", "value": "fr", "url": live_server.url}]
        )
    errors = watch_errors(page)
    page.goto(f"{live_server.url}/o/acme/boards/")
    page.locator("main .button").first.click()
    page.fill("#id_name", "Board meeting")
    page.locator("main button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Board meeting")

    form = page.locator("form.slide-form")
    form.locator("#id_kind").select_option("kpi")
    form.locator("#id_kpi").select_option(str(org.kpis.get(code="roas").pk))
    form.locator("#id_comparison").select_option("last_year")
    form.locator("button[type=submit]").click()
    expect(page.locator("#slides tbody tr")).to_have_count(1)
    form = page.locator("form.slide-form")
    form.locator("#id_kind").select_option("tiles")
    form.locator("button[type=submit]").click()
    expect(page.locator("#slides tbody tr")).to_have_count(2)

    page.fill("#id_label", "Open space TV")
    page.locator("#links form button[type=submit]").click()
    address = page.locator("#new-link-url").input_value()
    assert address.startswith(f"{live_server.url}/screen/")
    page.evaluate("() => window.scrollTo(0, 0)")  # the sticky top bar stays at the top
    screenshot(page, f"board-compose-{language}")

    page.locator("#links .button-danger").click()
    expect(page.locator("#links .badge-bad")).to_have_count(1)
    screen = page.context.new_page()
    assert screen.goto(address).status == 410
    expect(screen.locator(".board-invalid h1")).to_be_visible()
    assert errors == []


def test_the_charts_speak_the_screens_language(make_page, live_server, org, admin_user):
    org.language = "fr"
    org.save(update_fields=["language"])
    board = screen_board(org, admin_user)
    _link, token = services.share_link_create(organization=org, board=board)
    page = make_page(**TV)
    page.goto(f"{live_server.url}/screen/{token}/")
    page.wait_for_function(DRAWN)
    texts = "(nodes) => nodes.map((node) => node.textContent.toLowerCase())"
    ticks = page.eval_on_selector_all(".slide.is-current .xtick text", texts)
    french = ("janv", "févr", "avr", "mai", "juin", "juil", "août", "sept", "déc")
    assert any(t.startswith(french) for t in ticks), ticks
    values = page.eval_on_selector_all(".slide.is-current .ytick text", texts)
    assert any("\u202f%" in v or "\u00a0%" in v for v in values), values
