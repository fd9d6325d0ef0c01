"""Dashboard pages kept in the cache: seen again, a page costs the queries of any page (the
session, the person); as soon as anything it shows changes, it is rendered again; it is
never shared between roles, languages, days or people, and its htmx swaps are kept apart."""

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_delete, campaign_save, objective_delete, objective_save
from dashboards import page_cache
from dashboards.services import benchmark_delete, benchmark_save
from imports.services import ImportOptions, import_run, import_undo
from kpiboard.data_version import organization_data_changed
from kpiboard.models import Organization, Role
from kpiboard.services import membership_set
from metrics.catalog_services import kpi_delete
from metrics.recompute import kpis_recompute_stale
from metrics.services import ValueWrite, entries_write, kpi_save, metric_save, target_set
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

D = Decimal
DEC_2025 = "?period=month&at=2025-12&compare=previous&scope=all"
RECOMPUTING = "Recomputing…"


def url(name, *args, query=DEC_2025):
    return reverse(name, args=["acme", *args]) + query


def main(client, address, **headers) -> str:
    """The page's <main>: what the cache keeps, without the layout."""
    response = client.get(address, **headers)
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def tile(html: str, code: str) -> str:
    start = html.index(f'id="tile-{code}"')
    return html[start : html.index("</article>", start)]


def queries(client, address) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(address).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


# ---------------------------------------------------------------------- from the cache


@pytest.mark.parametrize(
    "name", ["overview", "kpi_list", "kpi_detail", "channels", "campaign_dashboard"]
)
def test_a_page_seen_again_costs_only_the_session_and_the_person(
    login, viewer, org, campaign, two_years, name
):
    args = {"kpi_detail": [org.kpis.get(code="conversion_rate").pk],
            "campaign_dashboard": [campaign.pk]}.get(name, [])  # fmt: skip
    client = login(viewer)
    address = url(name, *args)
    rendered = queries(client, address)
    again = queries(client, address)
    assert len(rendered) > 5
    assert len(again) == 2, again
    assert "django_session" in again[0]
    assert "kpiboard_membership" in again[1]  # the person with their memberships, one query


def test_a_page_seen_again_is_the_same_page(login, viewer, org, two_years):
    client = login(viewer)
    first = main(client, url("overview"))
    assert first == main(client, url("overview"))
    assert "tile-conversion_rate" in first


def test_a_cached_page_holds_nothing_of_the_person_who_saw_it_first(
    client, viewer, org, other_org, two_years
):
    """Two viewers of the same organization share the rendered page, never its layout: each
    gets their own organizations in the switcher and their own CSRF token."""
    other_viewer = make_user("victor")
    membership_set(organization=org, user=other_viewer, role=Role.VIEWER)
    membership_set(organization=other_org, user=other_viewer, role=Role.VIEWER)
    client.force_login(viewer)
    first = client.get(url("overview")).content.decode()
    client.force_login(other_viewer)
    second = client.get(url("overview")).content.decode()

    assert "Other Co" not in first and "Other Co" in second
    tokens = [
        re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html) for html in (first, second)
    ]
    assert tokens[0] and tokens[1] and set(tokens[0]).isdisjoint(tokens[1])
    for html in (first, second):
        main_part = html[html.index("<main") : html.index("</main>")]
        assert "csrfmiddlewaretoken" not in main_part


def test_viewers_and_editors_do_not_share_a_page(login, viewer, editor, org, two_years):
    """The navigation kept with the page depends on the role: editors import files."""
    imports = f'href="{reverse("import_list", args=["acme"])}"'
    editor_page = login(editor).get(url("overview")).content.decode()
    viewer_page = login(viewer).get(url("overview")).content.decode()
    assert imports in editor_page
    assert imports not in viewer_page


def test_each_language_has_its_own_page(login, viewer, org, two_years):
    client = login(viewer)
    english = main(client, url("overview"))
    client.cookies["django_language"] = "fr"
    french = main(client, url("overview"))
    assert "Followed KPIs" in english and "Followed KPIs" not in french
    assert "KPI suivis" in french


def test_a_page_opened_another_day_opens_on_that_days_last_month(
    login, viewer, org, two_years, monkeypatch
):
    """With no month asked for, a page opens on the last complete month: the day is part of
    what the cached page depends on."""
    client = login(viewer)
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2025, 7, 10))
    assert "<h2>June 2025</h2>" in main(client, reverse("overview", args=["acme"]))
    monkeypatch.setattr(timezone, "localdate", lambda *args: date(2025, 9, 2))
    assert "<h2>August 2025</h2>" in main(client, reverse("overview", args=["acme"]))


def test_an_htmx_swap_and_the_whole_page_are_kept_apart(login, viewer, org, two_years):
    client = login(viewer)
    whole = url("overview")
    swap = url("overview", query=DEC_2025.replace("compare=previous", "compare=last_year"))
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver" + whole}
    for _ in range(2):  # rendered, then from the cache: the same answers
        page = client.get(whole).content.decode()
        assert page.startswith("<!doctype html>")
        swapped = client.get(swap, **headers)
        assert swapped["HX-Push-Url"].endswith("compare=last_year&scope=all")
        assert "<!doctype" not in swapped.content.decode()
        assert 'id="ov-tiles"' in swapped.content.decode()
        assert 'id="ov-objectives"' not in swapped.content.decode()  # a comparison only
        assert "HX-Current-URL" in swapped["Vary"]
        # The same address asked by a link from another page: the whole page.
        other = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/o/acme/kpis/"}
        assert client.get(swap, **other).content.decode().startswith("<!doctype html>")


def test_another_release_of_kpiboard_renders_its_pages_again(
    login, viewer, org, two_years, monkeypatch
):
    client = login(viewer)
    main(client, url("overview"))
    monkeypatch.setattr(page_cache, "release", lambda: "a-new-release")
    assert len(queries(client, url("overview"))) > 5


def test_parameters_in_another_order_are_the_same_page(login, viewer, org, two_years):
    client = login(viewer)
    main(client, url("overview"))
    reordered = "?scope=all&compare=previous&at=2025-12&period=month"
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("overview", args=["acme"]) + reordered)
    assert len(captured.captured_queries) == 2


# ------------------------------------------------------------------ rendered again


def test_a_new_value_shows_recomputing_then_its_kpis(login, viewer, org, campaign, two_years):
    client = login(viewer)
    assert "2.50%" in tile(main(client, url("overview")), "conversion_rate")
    conversions = org.metrics.get(code="conversions")
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, conversions.pk, date(2025, 12, 1), D(40))],
        user=None,
    )
    assert RECOMPUTING in main(client, url("overview"))
    kpis_recompute_stale(organization_id=org.pk)
    page = main(client, url("overview"))
    assert RECOMPUTING not in page
    assert "4.00%" in tile(page, "conversion_rate")


def test_a_kpi_renamed_unfollowed_or_given_a_new_formula_shows_at_once(
    login, viewer, org, two_years
):
    client = login(viewer)
    kpi = org.kpis.get(code="conversion_rate")
    main(client, url("overview"))
    kpi_save(organization=org, kpi=kpi, label_en="Site conversion")
    assert "Site conversion" in main(client, url("overview"))
    kpi_save(organization=org, kpi=kpi, followed=False)
    assert 'id="tile-conversion_rate"' not in main(client, url("overview"))
    kpi_save(organization=org, kpi=kpi, formula="orders / visitors * 100")
    assert RECOMPUTING in main(client, url("kpi_detail", kpi.pk))


def test_a_kpi_deleted_from_the_catalog_leaves_the_kpi_list(login, viewer, org, two_years):
    client = login(viewer)
    assert "Net Promoter Score" in main(client, url("kpi_list"))
    kpi_delete(organization=org, kpi=org.kpis.get(code="nps"))
    assert "Net Promoter Score" not in main(client, url("kpi_list"))


def test_a_metric_renamed_shows_behind_the_numbers(login, viewer, org, two_years):
    client = login(viewer)
    kpi = org.kpis.get(code="conversion_rate")
    address = url("kpi_detail", kpi.pk, query=DEC_2025 + "&inputs=2025-06")
    assert "Visitors" in main(client, address)
    metric_save(organization=org, metric=org.metrics.get(code="visitors"), label_en="Humans")
    assert "Humans" in main(client, address)


def test_a_target_set_for_the_month_shows_on_its_tile(login, viewer, org, two_years):
    client = login(viewer)
    kpi = org.kpis.get(code="conversion_rate")
    assert "No target for this period" in tile(main(client, url("overview")), "conversion_rate")
    target_set(organization=org, kpi=kpi, campaign=None, month=date(2025, 12, 1),
               value=D(5), expected=None)  # fmt: skip
    assert "Target 5.00%" in tile(main(client, url("overview")), "conversion_rate")


def test_an_objective_saved_then_deleted_shows_at_once(login, viewer, org, campaign, two_years):
    client = login(viewer)
    assert "Convert 3 %" not in main(client, url("overview"))
    objective = objective_save(
        organization=org, title="Convert 3 %", kpi=org.kpis.get(code="conversion_rate"),
        category="conversion", baseline_value=D(2), baseline_start=date(2024, 1, 1),
        baseline_end=date(2024, 12, 1), target_kind="absolute", target_value=D(3),
        start_date=date(2025, 1, 1), deadline=date(2025, 12, 31), campaigns=[campaign],
    )  # fmt: skip
    assert "Convert 3 %" in main(client, url("overview"))
    objective_delete(organization=org, objective=objective)
    assert "Convert 3 %" not in main(client, url("overview"))


def test_a_campaign_changed_or_deleted_shows_at_once(login, viewer, org, campaign, two_years):
    client = login(viewer)
    assert "Spring sale" in main(client, url("overview"))
    fields = {"name": "Summer sale", "channel": campaign.channel,
              "start_date": campaign.start_date, "budget": D(24000)}  # fmt: skip
    campaign_save(organization=org, campaign=campaign, **fields)
    page = main(client, url("overview"))
    assert "Summer sale" in page and "Spring sale" not in page
    assert 'data-label="Budget">€2,000<' in page  # December: 24 000 over twelve months
    assert RECOMPUTING not in page
    campaign_save(organization=org, campaign=campaign, **{**fields, "channel": "email"})
    assert RECOMPUTING in main(client, url("overview"))  # its values move to another channel
    campaign_delete(organization=org, campaign=Campaign.objects.get(pk=campaign.pk))
    assert "Summer sale" not in main(client, url("overview"))


def test_a_benchmark_recorded_then_removed_shows_on_the_kpi_page(login, viewer, org, two_years):
    client = login(viewer)
    kpi = org.kpis.get(code="conversion_rate")
    assert "Sector average" not in main(client, url("kpi_detail", kpi.pk))
    benchmark = benchmark_save(organization=org, kpi=kpi, label="Sector average",
                               value=D("2.1"), period_start=date(2024, 1, 1))  # fmt: skip
    assert "Sector average" in main(client, url("kpi_detail", kpi.pk))
    benchmark_delete(organization=org, benchmark=benchmark)
    assert "Sector average" not in main(client, url("kpi_detail", kpi.pk))


def test_the_organizations_settings_show_at_once(login, viewer, org, two_years):
    """Currency, fiscal year, thresholds: read with the organization, part of the key, so
    even a change made by hand in the database shows."""
    client = login(viewer)
    assert "Amounts in EUR." in main(client, url("overview"))
    Organization.objects.filter(pk=org.pk).update(currency="CHF")
    assert "Amounts in CHF." in main(client, url("overview"))


def test_an_edit_in_the_django_admin_shows_at_once(client, viewer, org, campaign, two_years):
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    client.force_login(viewer)
    assert "Spring sale" in main(client, url("overview"))
    admin = Client()
    admin.force_login(root)
    response = admin.post(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk]),
        {"organization": org.pk, "name": "Admin sale", "channel": campaign.channel,
         "market": "France", "start_date": "2025-01-01", "end_date": "", "budget": "10000"},
    )  # fmt: skip
    assert response.status_code == 302
    assert "Admin sale" in main(client, url("overview"))


def test_an_import_and_its_undo_show_at_once(login, viewer, editor, org, campaign, two_years):
    client = login(viewer)
    assert "2.50%" in tile(main(client, url("overview")), "conversion_rate")
    result = import_run(
        organization=org, stream=io.BytesIO(b"Month,Campaign,Conversions\n2025-12,Spring sale,40\n"),
        filename="december.csv", options=ImportOptions(), user=editor,
    )  # fmt: skip
    assert result.batch.status == "applied"
    assert RECOMPUTING in main(client, url("overview"))
    kpis_recompute_stale(organization_id=org.pk)
    assert "4.00%" in tile(main(client, url("overview")), "conversion_rate")
    import_undo(organization=org, batch=result.batch, user=editor)
    assert RECOMPUTING in main(client, url("overview"))
    kpis_recompute_stale(organization_id=org.pk)
    assert "2.50%" in tile(main(client, url("overview")), "conversion_rate")


def test_the_data_version_moves_with_the_change_not_before_and_not_on_a_rollback(org):
    def version():
        row = Organization.objects.select_related("data_version").get(pk=org.pk)
        return getattr(getattr(row, "data_version", None), "version", 0)

    before = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        organization_data_changed(organization_id=org.pk)
        raise RuntimeError("the change fails")
    assert version() == before
    organization_data_changed(organization_id=org.pk)
    assert version() == before + 1


def test_pages_are_rendered_when_nothing_is_cached(login, viewer, org, two_years, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
        "local": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    client = login(viewer)
    assert len(queries(client, url("overview"))) > 5
    assert len(queries(client, url("overview"))) > 5
