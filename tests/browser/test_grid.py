"""The data-entry grid in chromium: keyboard, paste, invalid values, conflicts, history."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from metrics.models import MetricEntry
from metrics.recompute import kpis_recompute_stale
from metrics.services import ValueWrite, entries_write, target_set

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
MONTHLY = {  # January to June: a paid-search campaign's numbers
    "sessions": [4200, 4550, 4900, 5200, 5650, 6100],
    "visitors": [3100, 3400, 3650, 3900, 4200, 4550],
    "bounces": [1900, 2000, 2100, 2150, 2300, 2400],
    "impressions": [120000, 131000, 140500, 151000, 158000, 172000],
    "clicks": [3600, 3900, 4150, 4480, 4700, 5230],
    "conversions": [62, 71, 80, 84, 96, 109],
    "orders": [55, 63, 70, 77, 85, 98],
    "revenue": ["4125.50", "4851", "5390.75", "6006", "6545.20", "7546"],
    "spend": ["2150", "2300.40", "2410", "2550", "2700.10", "2890"],
}


def seed(org, user=None):
    metrics = {m.code: m.pk for m in org.metrics.all()}
    campaign = org.campaigns.get()
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, metrics[code], date(2025, i + 1, 1), D(str(value)))
            for code, values in MONTHLY.items()
            for i, value in enumerate(values)
        ],
        user=user,
    )
    kpis_recompute_stale(organization_id=org.pk)


def open_grid(make_page, live_server, campaign, user="eddie", language="en", **size):
    page = make_page(user, "pw-" + user, language=language, **size)
    if language == "fr":
        page.context.add_cookies(
            [{"name": "django_language", "value": "fr", "url": live_server.url}]
        )
    page.goto(f"{live_server.url}/o/acme/data/?campaign={campaign.pk}&year=2025")
    return page


def cell(page, metric, month):
    return page.locator(f"#v-{metric.pk}-2025{month:02d}")


def saved(page, metric, month):
    expect(page.locator(f"#f-{metric.pk}-2025{month:02d}.cell-saved")).to_have_count(1)


def settle(page):
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def stored(campaign, metric, month):
    entry = MetricEntry.objects.filter(
        campaign=campaign, metric=metric, month=date(2025, month, 1)
    ).first()
    return entry.value if entry else None


def focused_id(page):
    return page.evaluate("document.activeElement.id")


def test_a_rows_total_is_the_newest_even_when_an_earlier_save_answers_late(
    make_page, live_server, campaign, editor, metric
):
    """Each save answers with the row's year total: an answer arriving after a later one
    must not put back an older total (a row's saves queue one after the other)."""
    visitors = metric("visitors")
    page = open_grid(make_page, live_server, campaign)

    def first_answer_late(route):
        answer = route.fetch()  # the server has saved and read the total
        page.wait_for_timeout(800)  # the answer is slow to arrive
        route.fulfill(response=answer)

    page.route("**/data/cell/", first_answer_late, times=1)
    cell(page, visitors, 1).click()
    page.keyboard.type("1000")
    page.keyboard.press("Tab")
    page.keyboard.type("2000")
    page.keyboard.press("Tab")
    saved(page, visitors, 1)
    saved(page, visitors, 2)
    settle(page)
    expect(page.locator(f"#total-{visitors.pk}")).to_have_text("3,000")


def test_typing_and_moving_with_the_keyboard_saves_each_cell(
    make_page, live_server, campaign, editor, metric
):
    visitors, bounces = metric("visitors"), metric("bounces")
    page = open_grid(make_page, live_server, campaign)

    cell(page, visitors, 1).click()
    page.keyboard.type("1234.5")
    page.keyboard.press("Tab")
    assert focused_id(page) == f"v-{visitors.pk}-202502"
    page.keyboard.type("2,000")
    page.keyboard.press("Enter")
    assert focused_id(page) == f"v-{bounces.pk}-202502"
    page.keyboard.type("300")
    page.keyboard.press("ArrowUp")
    assert focused_id(page) == f"v-{visitors.pk}-202502"
    page.keyboard.press("ArrowLeft")  # the whole value is selected: the arrow moves
    assert focused_id(page) == f"v-{visitors.pk}-202501"

    for metric_, month in ((visitors, 1), (visitors, 2), (bounces, 2)):
        saved(page, metric_, month)
    expect(cell(page, visitors, 1)).to_have_value("1,234.5")
    expect(cell(page, visitors, 2)).to_have_value("2,000")
    assert stored(campaign, visitors, 1) == D("1234.5")
    assert stored(campaign, visitors, 2) == D("2000")
    assert stored(campaign, bounces, 2) == D("300")
    # Each save sends back the row's year total.
    expect(page.locator(f"#total-{visitors.pk}")).to_have_text("3,234.5")

    page.keyboard.type("9")
    page.keyboard.press("Escape")  # undoes the typing, saves nothing
    expect(cell(page, visitors, 1)).to_have_value("1,234.5")

    cell(page, bounces, 2).click()  # a click selects the value: typing replaces it
    page.keyboard.type("310")
    page.keyboard.press("Tab")
    settle(page)
    assert stored(campaign, bounces, 2) == D("310")
    assert stored(campaign, visitors, 1) == D("1234.5")


def test_a_french_block_pasted_from_a_spreadsheet_is_checked_shown_then_saved(
    make_page, live_server, campaign, editor, metric, org
):
    seed(org)
    visitors, bounces = metric("visitors"), metric("bounces")
    page = open_grid(make_page, live_server, campaign, language="fr")
    cell(page, visitors, 7).click()

    block = "4\u202f812,5\t5\u00a0020\t5 310\r\n2 410\t2\u202f495,75\t\r\n"
    page.evaluate(
        """([id, text]) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            document.getElementById(id).dispatchEvent(
                new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        [f"v-{visitors.pk}-202507", block],
    )

    bar = page.locator("#paste-bar.is-open")
    expect(bar).to_be_visible()
    expect(cell(page, visitors, 7)).to_have_value("4\u202f812,5")
    expect(cell(page, bounces, 8)).to_have_value("2\u202f495,75")
    expect(page.locator(".cell-pasted")).to_have_count(6)
    assert stored(campaign, visitors, 7) is None  # shown, not saved yet
    save = bar.locator("button[type=submit]")
    expect(save).to_be_focused()
    screenshot(page, "grid-paste-preview-fr")

    page.keyboard.press("Enter")
    expect(page.locator(".cell-saved")).to_have_count(6)
    expect(page.locator(".cell-pasted")).to_have_count(0)
    assert stored(campaign, visitors, 7) == D("4812.5")
    assert stored(campaign, visitors, 9) == D("5310")
    assert stored(campaign, bounces, 8) == D("2495.75")
    assert stored(campaign, bounces, 9) is None
    assert focused_id(page) == f"v-{visitors.pk}-202507"


def test_an_invalid_value_is_flagged_and_kept_as_typed(
    make_page, live_server, campaign, editor, metric
):
    orders = metric("orders")
    page = open_grid(make_page, live_server, campaign)
    cell(page, orders, 3).click()
    page.keyboard.type("12a")
    page.keyboard.press("Tab")

    flagged = cell(page, orders, 3)
    expect(flagged).to_have_attribute("aria-invalid", "true")
    expect(flagged).to_have_value("12a")
    message = page.locator(f"#m-{orders.pk}-202503")
    expect(message).to_contain_text("is not a number")
    assert flagged.get_attribute("aria-describedby") == f"m-{orders.pk}-202503"
    assert focused_id(page) == f"v-{orders.pk}-202504"  # the person went on typing
    assert stored(campaign, orders, 3) is None

    cell(page, orders, 4).fill("-2")
    page.keyboard.press("Enter")
    expect(page.locator(f"#m-{orders.pk}-202504")).to_contain_text("A count cannot be negative.")
    screenshot(page, "grid-invalid-en")


def test_two_people_editing_the_same_cell_the_second_is_told_and_chooses(
    make_page, live_server, campaign, editor, admin_user, metric
):
    clicks = metric("clicks")
    eddie = open_grid(make_page, live_server, campaign, "eddie")
    alice = open_grid(make_page, live_server, campaign, "alice")

    cell(eddie, clicks, 5).fill("4100")
    eddie.keyboard.press("Tab")
    saved(eddie, clicks, 5)

    cell(alice, clicks, 5).fill("3900")
    alice.keyboard.press("Tab")
    message = alice.locator(f"#m-{clicks.pk}-202505")
    expect(message).to_contain_text("Changed by eddie at")
    expect(message).to_contain_text("4,100")
    expect(cell(alice, clicks, 5)).to_have_value("3900")
    assert stored(campaign, clicks, 5) == D("4100")
    screenshot(alice, "grid-conflict-en")

    message.get_by_role("button", name="Overwrite").click()
    saved(alice, clicks, 5)
    assert stored(campaign, clicks, 5) == D("3900")

    # Eddie's page still holds the version he saved: his next save is refused in turn.
    cell(eddie, clicks, 5).fill("4200")
    eddie.keyboard.press("Tab")
    expect(eddie.locator(f"#m-{clicks.pk}-202505")).to_contain_text("Changed by alice at")
    eddie.locator(f"#m-{clicks.pk}-202505").get_by_role("button", name="Keep theirs").click()
    expect(cell(eddie, clicks, 5)).to_have_value("3,900")
    assert stored(campaign, clicks, 5) == D("3900")


def test_typing_again_while_a_save_is_on_its_way_loses_nothing(
    make_page, live_server, campaign, editor, metric
):
    leads = metric("leads")
    page = open_grid(make_page, live_server, campaign)
    held = []

    def hold(route):  # the first save waits until released; the others go through
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/data/cell/", hold)

    cell(page, leads, 1).fill("10")
    page.keyboard.press("Tab")
    page.wait_for_timeout(200)
    assert len(held) == 1  # the first save is on its way
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("15")
    held[0].continue_()
    saved(page, leads, 1)
    expect(cell(page, leads, 1)).to_have_value("15")  # what was typed meanwhile stays

    page.keyboard.press("Tab")
    expect(cell(page, leads, 1)).to_have_value("15")
    settle(page)
    saved(page, leads, 1)
    assert stored(campaign, leads, 1) == D("15")


def test_a_refused_save_keeps_the_text_and_says_so(
    make_page, live_server, campaign, editor, metric
):
    leads = metric("leads")
    page = open_grid(make_page, live_server, campaign)
    page.context.clear_cookies()  # the session has expired

    cell(page, leads, 2).fill("12")
    page.keyboard.press("Tab")

    expect(page.locator(f"#m-{leads.pk}-202502")).to_contain_text("Not saved")
    expect(cell(page, leads, 2)).to_have_value("12")
    expect(cell(page, leads, 2)).to_have_attribute("aria-invalid", "true")
    assert stored(campaign, leads, 2) is None


def test_a_cells_history_opens_on_demand(make_page, live_server, campaign, editor, metric, org):
    seed(org)
    spend = metric("spend")
    page = open_grid(make_page, live_server, campaign)
    cell(page, spend, 2).fill("2,350")
    page.keyboard.press("Tab")
    saved(page, spend, 2)

    cell(page, spend, 2).focus()
    page.keyboard.press("Alt+h")
    panel = page.locator("#history-panel")
    expect(panel.locator("h2")).to_contain_text("Marketing spend · February 2025")
    expect(panel.locator(".history-list li")).to_have_count(2)
    expect(panel.locator(".history-list li").first).to_contain_text("eddie")
    expect(panel.locator(".history-list li").first).to_contain_text("2,300.40")
    expect(panel.locator(".history-list li").first).to_contain_text("2,350")
    screenshot(page, "grid-history-en")

    page.keyboard.press("Escape")
    expect(panel.locator("h2")).to_have_count(0)
    assert focused_id(page) == f"v-{spend.pk}-202502"


def test_viewers_read_values_and_history_without_inputs(
    make_page, live_server, campaign, viewer, org, metric
):
    seed(org)
    page = open_grid(make_page, live_server, campaign, "vera")
    expect(page.locator("input.cell-input")).to_have_count(0)
    page.get_by_role("link", name="Visitors, March 2025: 3,650").click()
    expect(page.locator("#history-panel h2")).to_contain_text("Visitors · March 2025")


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_screenshots(make_page, live_server, campaign, editor, org, language, width, height):
    seed(org, editor)
    page = open_grid(
        make_page, live_server, campaign, language=language, width=width, height=height
    )
    expect(page.locator("#grid-kpis")).to_be_visible()
    screenshot(page, f"grid-{language}-{width}")
    page.goto(f"{live_server.url}/o/acme/data/activity/")
    screenshot(page, f"activity-{language}-{width}")
    for code, value in (("ctr", "3"), ("cpa", "30"), ("roas", "2.2")):
        for month in range(1, 7):
            target_set(
                organization=org, kpi=org.kpis.get(code=code), campaign=None,
                month=date(2025, month, 1), value=D(value), expected=None,
            )  # fmt: skip
    page.goto(f"{live_server.url}/o/acme/data/targets/?year=2025")
    screenshot(page, f"targets-{language}-{width}")
