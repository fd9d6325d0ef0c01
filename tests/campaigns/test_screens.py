"""Screenshots of the data-entry pages (campaigns, objectives, catalog, members), in French
and English, on a laptop and a phone, for a person to look at (test-artifacts/). They also
check that the HTMX parts work in a real browser: the baseline filled in from history with
its warning, and the live formula check with its caret."""

from datetime import date
from decimal import Decimal

import pytest

from metrics.periods import add_months
from tests.browser.conftest import screenshot as save_screenshot

from .conftest import make_campaign, make_objective, put_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def history(org, admin_user, editor, viewer, campaign):
    """Two years of a conversion rate wobbling around 4 % (best monthly gain +0.2 pt)."""
    rates = ["3.9", "4.0", "4.1", "4.0", "3.9", "4.1", "4.2", "4.0", "4.1", "4.0", "3.9", "4.1"]
    months = [add_months(date(2023, 1, 1), i) for i in range(24)]
    put_values(
        org,
        campaign,
        {
            "visitors": dict.fromkeys(months, "10000"),
            "conversions": {m: str(Decimal(rates[i % 12]) * 100) for i, m in enumerate(months)},
            "spend": dict.fromkeys(months, "1800.50"),
            "clicks": dict.fromkeys(months, "2400"),
        },
    )
    newsletter = make_campaign(org, name="Newsletter mensuelle", market="France", budget=1200)
    objective = make_objective(
        org,
        title="Conversion à 5 % d'ici juin",
        baseline_value=Decimal("4.03"),
        baseline_start=date(2024, 10, 1),
        baseline_end=date(2024, 12, 1),
        target_value=Decimal("5"),
        owner=editor,
    )
    objective.campaigns.add(campaign, newsletter)
    return org


def screenshot(page, name):
    """From the top: a full-page shot taken scrolled down draws the sticky top bar midway."""
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, name)


def go(page, live_server, path):
    page.goto(f"{live_server.url}/o/acme/{path}")  # waits for the load event


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screens(make_page, live_server, history, language, size):
    width, height = SIZES[size]
    page = make_page("alice", "pw-alice", language=language, width=width, height=height)
    # The organization speaks English; the person chose their language (the switcher's cookie).
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    tag = f"{language}-{size}"

    go(page, live_server, "campaigns/")
    screenshot(page, f"partb-campaigns-{tag}")
    go(page, live_server, "campaigns/objectives/")
    screenshot(page, f"partb-objectives-{tag}")

    # A rejected campaign form keeps what was typed, errors beside the fields.
    go(page, live_server, "campaigns/new/")
    page.fill("#id_name", "Spring sale")
    page.fill("#id_budget", "beaucoup")
    with page.expect_navigation():
        page.click("#main form button[type=submit]")
    assert page.input_value("#id_budget") == "beaucoup"
    screenshot(page, f"partb-campaign-form-errors-{tag}")

    # The objective form: the KPI fills the baseline from history, the target warns.
    go(page, live_server, "campaigns/objectives/new/")
    page.fill("#id_title", "Conversion +20 %")
    page.fill("#id_baseline_start", "2024-10")
    page.fill("#id_baseline_end", "2024-12")
    page.fill("#id_start_date", "2025-01-01")
    page.fill("#id_deadline", "2025-06-30")
    page.select_option("#id_kpi", value=str(history.kpis.get(code="conversion_rate").pk))
    page.wait_for_selector("#baseline-history")
    decimal = "," if language == "fr" else "."
    assert page.input_value("#id_baseline_value") == f"4{decimal}00"
    page.fill("#id_target_value", f"5{decimal}5")
    page.wait_for_selector(".notice-warn")
    assert "+0" in page.inner_text(".notice-warn")
    screenshot(page, f"partb-objective-form-{tag}")

    # The catalog and the live formula check with its caret.
    go(page, live_server, "catalog/")
    screenshot(page, f"partb-catalog-{tag}")
    go(page, live_server, "catalog/kpis/new/")
    page.fill("#id_code", "download_rate")
    page.fill("#id_label_en", "Download rate")
    page.fill("#id_label_fr", "Taux de téléchargement")
    page.click("#id_formula")
    page.keyboard.type("conversions / visitorz * 100")
    page.wait_for_selector(".caret")
    assert "visitorz" in page.inner_text("#formula-check")
    page.click(".codes summary")
    screenshot(page, f"partb-kpi-form-{tag}")

    go(page, live_server, "members/")
    page.fill("#id_identifier", "nobody@example.com")
    with page.expect_navigation():
        page.click(".add-member button[type=submit]")
    screenshot(page, f"partb-members-{tag}")


def test_viewers_see_no_editing_controls(make_page, live_server, history):
    page = make_page("vera", "pw-vera", width=1366, height=768)
    go(page, live_server, "campaigns/")
    assert page.locator("text=New campaign").count() == 0
    assert page.locator("nav.mainnav >> text=Catalog").count() == 0
    screenshot(page, "partb-campaigns-viewer-en-desktop")
