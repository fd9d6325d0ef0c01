"""The data-entry grid, its cell and paste endpoints, and the targets grid."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign
from kpiboard.models import Role
from kpiboard.services import membership_set
from metrics.models import MetricEntry, Target, ValueChange
from metrics.recompute import kpis_recompute_stale
from metrics.services import ValueWrite, entries_write

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
HX = {"HTTP_HX_REQUEST": "true"}


def url(name, **query):
    path = reverse(name, kwargs={"org_slug": "acme"})
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def write(org, campaign, metric, month, value, user=None):
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, metric.pk, month, None if value is None else D(value))],
        user=user,
    )


def stored(campaign, metric, month=JAN):
    entry = MetricEntry.objects.filter(campaign=campaign, metric=metric, month=month).first()
    return entry.value if entry else None


def cell_post(client, campaign, metric, month="2025-01", value="", version=0, **extra):
    data = {"campaign": campaign.pk, "metric": metric.pk, "month": month, "version": version}
    data.update(value=value, **extra)
    return client.post(url("data_cell"), data, **HX)


def grid_page(client, campaign, year=2025, **headers):
    return client.get(url("data_grid", campaign=campaign.pk, year=year), **headers)


def login(client, user):
    client.force_login(user)
    return client


# ------------------------------------------------------------------------------ denials


GETS = ["data_grid", "data_activity", "data_targets"]
POSTS = ["data_cell", "data_paste", "data_target_cell"]


@pytest.mark.parametrize("name", GETS + POSTS)
def test_anonymous_people_are_sent_to_the_login_page(client, org, name):
    response = client.post(url(name)) if name in POSTS else client.get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", GETS + POSTS)
def test_outsiders_are_told_the_organization_does_not_exist(client, org, outsider, name):
    login(client, outsider)
    response = client.post(url(name)) if name in POSTS else client.get(url(name))
    assert response.status_code == 404


@pytest.mark.parametrize("name", POSTS)
def test_viewers_cannot_write(client, viewer, campaign, metric, name):
    login(client, viewer)
    data = {"campaign": campaign.pk, "metric": metric("visitors").pk, "month": "2025-01",
            "version": 0, "value": "5", "text": "5\t6", "kpi": 1}  # fmt: skip
    assert client.post(url(name), data, **HX).status_code == 403
    assert not MetricEntry.objects.exists() and not Target.objects.exists()


@pytest.mark.parametrize("name", POSTS)
def test_write_views_refuse_get(client, editor, name):
    login(client, editor)
    assert client.get(url(name)).status_code == 405


def test_history_of_another_organizations_campaign_is_not_found(client, editor, other_org, metric):
    foreign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=JAN
    )
    login(client, editor)
    response = client.get(
        url("data_history", campaign=foreign.pk, metric=metric("visitors").pk, month="2025-01")
    )
    assert response.status_code == 404


def test_a_cell_of_another_organizations_campaign_is_a_bad_request(
    client, editor, other_org, metric
):
    foreign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=JAN
    )
    login(client, editor)
    assert cell_post(client, foreign, metric("visitors"), value="5").status_code == 400
    assert not MetricEntry.objects.exists()


# ------------------------------------------------------------------------------ the page


def test_editors_get_one_input_per_metric_and_month(client, editor, campaign, org):
    login(client, editor)
    response = grid_page(client, campaign)
    html = response.content.decode()

    assert response.status_code == 200
    assert html.count('class="cell-input"') == org.metrics.count() * 12
    assert 'inputmode="decimal"' in html
    assert "data-paste-url=" in html
    assert 'aria-label="Visitors, March 2025"' in html


def test_values_are_shown_in_the_persons_language(client, editor, campaign, org, metric):
    write(org, campaign, metric("visitors"), MAR, "1234.5")
    write(org, campaign, metric("spend"), MAR, "1500.5")
    login(client, editor)

    english = grid_page(client, campaign).content.decode()
    client.cookies["django_language"] = "fr"
    french = grid_page(client, campaign).content.decode()

    assert 'value="1,234.5"' in english and 'value="1,500.50"' in english
    assert 'value="1\u202f234,5"' in french and 'value="1\u202f500,50"' in french
    assert "Saisie des données" in french or "Data entry" in french  # until translated


def test_viewers_see_values_but_no_editing_controls(client, viewer, campaign, org, metric):
    write(org, campaign, metric("visitors"), MAR, "1234")
    login(client, viewer)
    html = grid_page(client, campaign).content.decode()

    assert "1,234" in html
    assert "<input" not in html.split('id="entry-grid"')[1].split("</table>")[0]
    assert "data-paste-url" not in html
    assert 'name="value"' not in html


def test_the_page_offers_the_campaigns_and_the_neighbouring_years(client, editor, campaign, org):
    other = Campaign.objects.create(
        organization=org, name="Autumn", channel="email", start_date=JAN
    )
    login(client, editor)
    html = grid_page(client, other, year=2024).content.decode()

    assert f'<option value="{other.pk}" selected>Autumn</option>' in html
    assert f'<option value="{campaign.pk}">Spring sale</option>' in html
    assert f"?campaign={other.pk}&amp;year=2023" in html
    assert f"?campaign={other.pk}&amp;year=2025" in html
    assert 'aria-label="Visitors, March 2024"' in html


def test_an_unknown_campaign_is_not_found(client, editor, campaign, other_org):
    foreign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=JAN
    )
    login(client, editor)
    assert grid_page(client, foreign).status_code == 404


def test_without_campaigns_the_page_says_so(client, editor):
    login(client, editor)
    html = client.get(url("data_grid")).content.decode()
    assert "No campaign yet" in html


def test_the_kpis_fed_by_the_entered_metrics_are_shown_below(client, editor, campaign, org, metric):
    write(org, campaign, metric("clicks"), MAR, "50")
    write(org, campaign, metric("impressions"), MAR, "1000")
    kpis_recompute_stale(organization_id=org.pk)
    login(client, editor)
    html = grid_page(client, campaign).content.decode()
    kpis = html.split('id="grid-kpis"')[1].split("</tbody>")[0]

    assert "Click-through rate" in kpis or "CTR" in kpis
    assert "5.00%" in kpis or "5.0%" in kpis
    assert "Net Promoter" not in kpis  # nothing feeds it
    assert "updating" not in kpis


def test_grid_queries_do_not_grow_with_metrics_and_months(
    client, editor, campaign, org, django_assert_max_num_queries
):
    login(client, editor)
    metrics = list(org.metrics.all())
    feeding_ctr = org.metrics.filter(code__in=["clicks", "impressions"])
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, m.pk, JAN, D(1)) for m in feeding_ctr],
        user=editor,
    )
    kpis_recompute_stale(organization_id=org.pk)
    grid_page(client, campaign)  # the first visit also records the organization in the session
    with CaptureQueriesContext(connection) as few:
        grid_page(client, campaign)

    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, m.pk, date(2025, month, 1), D(month))
            for m in metrics
            for month in range(1, 13)
        ],
        user=editor,
    )
    kpis_recompute_stale(organization_id=org.pk)
    # Session, user, membership (x2), transaction (2): 6 or so; the grid itself: 6.
    with django_assert_max_num_queries(13), CaptureQueriesContext(connection) as many:
        grid_page(client, campaign)

    assert len(many) == len(few)


# ------------------------------------------------------------------------------ a cell


def test_a_typed_value_is_saved_and_the_cell_comes_back_with_its_new_version(
    client, editor, campaign, metric
):
    login(client, editor)
    response = cell_post(client, campaign, metric("visitors"), value="1,234.5")
    html = response.content.decode()

    assert response.status_code == 200
    assert stored(campaign, metric("visitors")) == D("1234.5")
    assert 'name="version" value="1"' in html
    assert 'value="1,234.5"' in html and "cell-saved" in html
    # Out of band: the row's year total and the KPI rows.
    assert re.search(r'<td id="total-\d+"[^>]*hx-swap-oob="true">1,234.5</td>', html)
    assert 'id="grid-kpis"' in html and 'hx-swap-oob="true"' in html
    change = ValueChange.objects.get()
    assert (change.changed_by, change.new_value) == (editor, D("1234.5"))


def test_a_french_editor_types_french_numbers(client, editor, campaign, metric):
    login(client, editor)
    client.cookies["django_language"] = "fr"
    cell_post(client, campaign, metric("spend"), value="1 234,56 €")
    cell_post(client, campaign, metric("visitors"), value="1,234")
    assert stored(campaign, metric("spend")) == D("1234.56")
    assert stored(campaign, metric("visitors")) == D("1.234")


def test_an_invalid_value_is_flagged_in_its_cell_and_kept_as_typed(
    client, editor, campaign, metric
):
    login(client, editor)
    html = cell_post(client, campaign, metric("visitors"), value="12a").content.decode()

    assert 'aria-invalid="true"' in html
    assert re.search(r'aria-describedby="m-\d+-202501"', html)
    assert 'value="12a"' in html
    assert "is not a number" in html and "cell-invalid" in html
    assert not MetricEntry.objects.exists()


def test_a_negative_count_is_flagged(client, editor, campaign, metric):
    login(client, editor)
    html = cell_post(client, campaign, metric("orders"), value="-3").content.decode()
    assert "A count cannot be negative." in html and 'value="-3"' in html
    assert not MetricEntry.objects.exists()


def test_an_empty_cell_deletes_the_value(client, editor, campaign, org, metric):
    write(org, campaign, metric("visitors"), JAN, "10")
    login(client, editor)
    html = cell_post(client, campaign, metric("visitors"), value="", version=1).content.decode()

    assert stored(campaign, metric("visitors")) is None
    assert 'name="version" value="0"' in html
    assert ValueChange.objects.latest("id").new_value is None


def test_a_second_save_from_a_stale_version_shows_who_changed_the_cell(
    client, editor, admin_user, campaign, org, metric
):
    admin_user.first_name, admin_user.last_name = "Alice", "Martin"
    admin_user.save()
    write(org, campaign, metric("visitors"), JAN, "10", user=editor)  # version 1, seen by both
    write(org, campaign, metric("visitors"), JAN, "11", user=admin_user)  # Alice: version 2
    login(client, editor)

    html = cell_post(client, campaign, metric("visitors"), value="99", version=1).content.decode()

    assert stored(campaign, metric("visitors")) == D("11")
    assert "Changed by Alice Martin at" in html and ": 11" in html
    assert 'value="99"' in html  # what was typed is kept
    assert 'name="current_version" value="2"' in html
    assert "Keep theirs" in html and "Overwrite" in html


def test_overwrite_after_a_conflict_saves_over_the_version_seen(
    client, editor, admin_user, campaign, org, metric
):
    write(org, campaign, metric("visitors"), JAN, "10", user=editor)
    write(org, campaign, metric("visitors"), JAN, "11", user=admin_user)
    login(client, editor)

    cell_post(
        client, campaign, metric("visitors"), value="99", version=1,
        current_version=2, resolve="overwrite",
    )  # fmt: skip

    assert stored(campaign, metric("visitors")) == D("99")
    assert ValueChange.objects.latest("id").old_value == D("11")


def test_keep_theirs_shows_the_current_value_and_saves_nothing(
    client, editor, admin_user, campaign, org, metric
):
    write(org, campaign, metric("visitors"), JAN, "11", user=admin_user)
    login(client, editor)
    html = cell_post(
        client, campaign, metric("visitors"), value="99", version=0,
        current_version=1, resolve="theirs",
    ).content.decode()  # fmt: skip

    assert 'value="11"' in html and 'name="version" value="1"' in html
    assert stored(campaign, metric("visitors")) == D("11")


def test_without_javascript_a_save_redirects_to_the_grid(client, editor, campaign, metric):
    login(client, editor)
    data = {"campaign": campaign.pk, "metric": metric("visitors").pk, "month": "2025-01",
            "version": 0, "value": "5"}  # fmt: skip
    response = client.post(url("data_cell"), data)
    assert response.status_code == 302
    assert response["Location"] == url("data_grid", campaign=campaign.pk, year=2025)


def test_without_javascript_an_invalid_value_renders_the_page_with_the_error(
    client, editor, campaign, metric
):
    login(client, editor)
    data = {"campaign": campaign.pk, "metric": metric("visitors").pk, "month": "2025-01",
            "version": 0, "value": "abc"}  # fmt: skip
    response = client.post(url("data_cell"), data)
    assert response.status_code == 400
    assert "is not a number" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_kpi_rows_sent_with_a_save_are_recomputed(
    client, monkeypatch, editor, campaign, metric
):
    from metrics.tasks import recompute_kpis

    # As in production without a broker: the recompute runs inline when the save commits.
    monkeypatch.setattr(
        recompute_kpis, "delay", lambda org_id: kpis_recompute_stale(organization_id=org_id)
    )
    login(client, editor)
    cell_post(client, campaign, metric("impressions"), value="1000")
    html = cell_post(client, campaign, metric("clicks"), value="25").content.decode()
    kpis = html.split('id="grid-kpis"')[1].split("</tbody>")[0]

    assert "2.50%" in kpis or "2.5%" in kpis
    assert "updating" not in kpis


def test_while_the_kpis_are_recomputed_the_rows_poll_for_the_result(
    client, editor, campaign, org, metric
):
    write(org, campaign, metric("clicks"), JAN, "5")  # the recompute has not run yet
    login(client, editor)
    html = grid_page(client, campaign).content.decode()
    assert 'hx-trigger="load delay:2s"' in html and "updating" in html

    kpis_recompute_stale(organization_id=org.pk)
    poll = grid_page(client, campaign, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="grid-kpis")
    body = poll.content.decode()
    assert body.strip().startswith('<tbody id="grid-kpis"')
    assert "hx-trigger" not in body


# ------------------------------------------------------------------------------ paste


def paste_post(client, campaign, metric, month, text, step="check", seen=""):
    data = {"campaign": campaign.pk, "metric": metric.pk, "month": month, "text": text,
            "step": step, "seen": seen}  # fmt: skip
    return client.post(url("data_paste"), data, **HX)


FRENCH_BLOCK = "1\u202f234,5\t2\u00a0000\r\n12,5\t7\r\n"


def test_a_pasted_block_is_shown_before_anything_is_saved(client, editor, campaign, org, metric):
    write(org, campaign, metric("visitors"), MAR, "5")
    login(client, editor)
    client.cookies["django_language"] = "fr"
    html = paste_post(
        client, campaign, metric("visitors"), "2025-03", FRENCH_BLOCK
    ).content.decode()

    assert MetricEntry.objects.count() == 1
    assert html.strip().startswith('<tbody id="grid-metrics"')
    assert html.count("cell-pasted") == 4
    assert 'value="1\u202f234,5" inputmode="decimal"' in html
    assert "readonly" in html
    assert 'id="paste-bar"' in html and 'name="step" value="save"' in html
    visitors = metric("visitors").pk
    assert f"{visitors}:2025-03:1" in html  # the version seen, sent back with "save"


def test_saving_the_pasted_block_writes_every_cell_once(client, editor, campaign, org, metric):
    login(client, editor)
    client.cookies["django_language"] = "fr"
    preview = paste_post(client, campaign, metric("visitors"), "2025-03", FRENCH_BLOCK)
    seen = re.search(r'name="seen" value="([^"]*)"', preview.content.decode())[1]

    html = paste_post(
        client, campaign, metric("visitors"), "2025-03", FRENCH_BLOCK, step="save", seen=seen
    ).content.decode()

    assert stored(campaign, metric("visitors"), MAR) == D("1234.5")
    assert stored(campaign, metric("visitors"), date(2025, 4, 1)) == D("2000")
    assert MetricEntry.objects.count() == 4
    assert ValueChange.objects.count() == 4
    assert html.count("cell-saved") == 4
    assert "4" in html.split('id="paste-bar"')[1].split("</div>")[0]


def test_a_block_with_a_bad_cell_is_reported_and_nothing_is_saved(client, editor, campaign, metric):
    login(client, editor)
    html = paste_post(client, campaign, metric("visitors"), "2025-01", "1\t2\n3\tabc\n").content
    html = html.decode()

    assert "1 cell cannot be read" in html
    assert "March" not in html.split('class="errorlist"')[1].split("</ul>")[0]
    assert "February 2025</a>: &quot;abc&quot; is not a number" in html
    assert 'name="step" value="save"' in html and "Save the paste" not in html
    assert 'value="abc"' in html and 'aria-invalid="true"' in html

    saved = paste_post(client, campaign, metric("visitors"), "2025-01", "1\t2\n3\tabc\n", "save")
    assert "Paste saved" not in saved.content.decode()
    assert not MetricEntry.objects.exists()


def test_a_block_changed_meanwhile_is_not_saved_and_the_change_is_shown(
    client, editor, admin_user, campaign, org, metric
):
    login(client, editor)
    preview = paste_post(client, campaign, metric("visitors"), "2025-01", "1\t2\n")
    seen = re.search(r'name="seen" value="([^"]*)"', preview.content.decode())[1]
    write(org, campaign, metric("visitors"), FEB, "50", user=admin_user)

    html = paste_post(
        client, campaign, metric("visitors"), "2025-01", "1\t2\n", step="save", seen=seen
    ).content.decode()

    assert stored(campaign, metric("visitors"), JAN) is None
    assert stored(campaign, metric("visitors"), FEB) == D("50")
    assert "Changed by alice at" in html and "Save anyway" in html


def test_a_block_wider_than_the_year_is_refused(client, editor, campaign, metric):
    login(client, editor)
    html = paste_post(client, campaign, metric("visitors"), "2025-11", "1\t2\t3\n").content
    assert "only 2 months remain" in html.decode()
    assert not MetricEntry.objects.exists()


def test_cancelling_a_preview_renders_the_stored_grid(client, editor, campaign):
    login(client, editor)
    response = grid_page(client, campaign, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="grid-metrics")
    html = response.content.decode()
    assert html.strip().startswith('<tbody id="grid-metrics"')
    assert '<div id="paste-bar" class="paste-bar" hx-swap-oob="true">' in html


# ------------------------------------------------------------------------------ targets


def target_post(client, kpi, value, campaign=None, month="2025-01", expected="", **extra):
    data = {"kpi": kpi.pk, "campaign": campaign.pk if campaign else "", "month": month,
            "expected": expected, "value": value, **extra}  # fmt: skip
    return client.post(url("data_target_cell"), data, **HX)


def test_targets_are_entered_per_kpi_and_month(client, editor, org, campaign):
    ctr = org.kpis.get(code="ctr")
    login(client, editor)
    client.cookies["django_language"] = "fr"

    html = target_post(client, ctr, "4,5 %").content.decode()
    target_post(client, ctr, "6", campaign=campaign)

    assert Target.objects.get(kpi=ctr, campaign=None).value == D("4.5")
    assert Target.objects.get(kpi=ctr, campaign=campaign).value == D("6")
    assert 'value="4,5"' in html and 'name="expected" value="4.5"' in html

    page = client.get(url("data_targets", year=2025)).content.decode()
    assert page.count('class="cell-input"') == org.kpis.count() * 12
    assert 'value="4,5"' in page


def test_a_target_changed_meanwhile_shows_the_other_value(client, editor, org):
    ctr = org.kpis.get(code="ctr")
    Target.objects.create(organization=org, kpi=ctr, month=JAN, value=D("3"))
    login(client, editor)

    html = target_post(client, ctr, "5", expected="").content.decode()

    assert "Changed meanwhile by someone else: 3" in html
    assert 'name="current" value="3"' in html
    assert Target.objects.get(kpi=ctr).value == D("3")

    target_post(client, ctr, "5", expected="", current="3", resolve="overwrite")
    assert Target.objects.get(kpi=ctr).value == D("5")


def test_an_invalid_target_is_flagged(client, editor, org):
    login(client, editor)
    html = target_post(client, org.kpis.get(code="cpa"), "-4").content.decode()
    assert "This target cannot be negative." in html and 'value="-4"' in html
    assert not Target.objects.exists()


def test_viewers_read_targets_without_inputs(client, viewer, org):
    Target.objects.create(organization=org, kpi=org.kpis.get(code="ctr"), month=JAN, value=4)
    login(client, viewer)
    html = client.get(url("data_targets", year=2025)).content.decode()
    assert "cell-input" not in html and ">4<" in html


def test_a_member_promoted_to_editor_gets_the_inputs(client, viewer, org, campaign):
    membership_set(organization=org, user=viewer, role=Role.EDITOR)
    login(client, viewer)
    assert "cell-input" in grid_page(client, campaign).content.decode()
