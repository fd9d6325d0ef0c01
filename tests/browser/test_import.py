"""An import in chromium: upload, preview with its problems and its changes, apply, and the
page following the KPI recompute until the dashboard can be opened."""

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from imports.models import ImportBatch
from metrics.models import KPIValue, MetricEntry, StaleMark

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[1] / "imports" / "files"


def open_upload(make_page, live_server, *, language="en", **size):
    page = make_page("eddie", "pw-eddie", language=language, **size)
    if language == "fr":
        page.context.add_cookies(
            [{"name": "django_language", "value": "fr", "url": live_server.url}]
        )
    page.goto(f"{live_server.url}/o/acme/imports/")
    page.locator("a[href$='/imports/new/']").first.click()
    return page


def shot(page, name):
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top of the capture
    screenshot(page, name)


def settle(page):
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


@pytest.mark.parametrize(
    ("language", "sample", "channel"),
    [
        ("en", "wine_shop_long_en.csv", "paid_social"),
        ("fr", "boulangerie_fr_excel.csv", "organic_social"),
    ],
)
def test_a_file_goes_from_upload_to_fresh_kpis(
    make_page, live_server, org, editor, language, sample, channel
):
    page = open_upload(make_page, live_server, language=language)
    shot(page, f"import-upload-{language}")

    page.set_input_files("input[type=file]", str(SAMPLES / sample))
    page.locator("form[hx-post] button[type=submit]").click()
    expect(page.locator(".import-problems")).to_be_visible()
    settle(page)
    batch = ImportBatch.objects.get(organization=org)
    assert page.url.endswith(f"/o/acme/imports/{batch.pk}/preview/")  # pushed by htmx
    expect(page.locator(".problem-table tbody tr")).to_have_count(2 if "wine" in sample else 3)
    expect(page.locator(".apply-form")).to_have_count(0)
    shot(page, f"import-preview-problems-{language}")

    page.select_option("#id_new_campaign_channel", channel)
    settle(page)
    page.locator("input[name=create_campaigns]").check()
    expect(page.locator(".apply-form")).to_be_visible()
    settle(page)
    expect(page.locator(".import-problems")).to_have_count(0)
    shot(page, f"import-preview-changes-{language}")
    assert not MetricEntry.objects.exists()  # nothing written by the preview

    page.locator(".apply-form button[type=submit]").click()
    expect(page.locator("#import-progress progress[value='1']")).to_be_visible()
    shot(page, f"import-done-{language}")

    batch.refresh_from_db()
    assert batch.status == "applied"
    assert MetricEntry.objects.filter(organization=org).count() == batch.created_count > 0
    assert KPIValue.objects.filter(organization=org).exists()
    assert not StaleMark.objects.filter(organization=org).exists()
    page.locator("#import-progress a.button").click()
    assert page.url.rstrip("/").endswith("/o/acme")
    page.goto(f"{live_server.url}/o/acme/imports/")
    expect(page.locator(".import-table tbody tr")).to_have_count(1)
    shot(page, f"import-list-{language}")


def test_an_unknown_header_is_mapped_on_the_preview(
    make_page, live_server, org, editor, campaign, tmp_path
):
    from decimal import Decimal

    from metrics.services import ValueWrite, entries_write

    clicks = org.metrics.get(code="clicks")
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, clicks.pk, date(2025, 1, 1), Decimal("18"))],
        user=None,
    )
    path = tmp_path / "ads.csv"
    path.write_text(
        "Month,Campaign,Clicks,Likes\n2025-01,Spring sale,20,7\n2025-02,Spring sale,25,9\n"
    )
    page = open_upload(make_page, live_server)
    page.set_input_files("input[type=file]", str(path))
    page.locator("form[hx-post] button[type=submit]").click()
    expect(page.locator(".import-problems")).to_be_visible()

    page.select_option("select[name='map:likes']", "engagements")

    expect(page.locator(".apply-form")).to_be_visible()
    expect(page.locator(".change-count").first).to_have_text("3")
    expect(page.locator(".diff-table .old-value")).to_have_text(["18"])
    shot(page, "import-preview-changed-en")
    page.locator(".apply-form button[type=submit]").click()
    expect(page.locator("#import-progress")).to_be_visible()
    assert MetricEntry.objects.filter(metric__code="engagements").count() == 2
    assert MetricEntry.objects.get(metric=clicks, month=date(2025, 1, 1)).value == 20


def test_the_applied_import_polls_until_the_kpis_are_fresh(
    make_page, live_server, org, editor, campaign
):
    batch = ImportBatch.objects.create(
        organization=org, created_by=editor, filename="june.csv", sha256="0" * 64,
        status="applied", created_count=12,
    )  # fmt: skip
    mark = StaleMark.objects.create(organization=org, campaign=campaign, month=date(2025, 6, 1))
    page = make_page("eddie", "pw-eddie")
    page.goto(f"{live_server.url}/o/acme/imports/{batch.pk}/")
    expect(page.locator("#import-progress progress:not([value])")).to_be_visible()
    shot(page, "import-recomputing-en")

    mark.delete()  # what the worker does when it is done

    expect(page.locator("#import-progress a.button")).to_be_visible(timeout=5000)
    assert Campaign.objects.filter(organization=org).count() == 1


def sideways(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_on_a_phone_the_import_pages_fit_the_screen(make_page, live_server, org, editor):
    page = open_upload(make_page, live_server, language="fr", width=390, height=844)
    assert sideways(page) <= 0
    page.set_input_files("input[type=file]", str(SAMPLES / "boulangerie_fr_excel.csv"))
    page.locator("form[hx-post] button[type=submit]").click()
    expect(page.locator(".import-problems")).to_be_visible()
    settle(page)
    assert sideways(page) <= 0, "the preview with its problems"
    page.select_option("#id_new_campaign_channel", "organic_social")
    settle(page)
    page.locator("input[name=create_campaigns]").check()
    expect(page.locator(".apply-form")).to_be_visible()
    settle(page)
    assert sideways(page) <= 0, "the preview with its changes"
    shot(page, "import-preview-changes-fr-390")
    page.locator(".apply-form button[type=submit]").click()
    expect(page.locator("#import-progress progress[value='1']")).to_be_visible()
    settle(page)
    assert sideways(page) <= 0, "the applied import"
    shot(page, "import-done-fr-390")
