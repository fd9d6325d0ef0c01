"""Dashboard pages: what they show, who may see them, the sections htmx swaps, and a number
of queries that does not grow with the KPIs, campaigns or months."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Objective
from kpiboard.data_version import organization_data_changed
from metrics.models import Benchmark
from metrics.recompute import kpis_recompute_all

from .conftest import make_campaign, put_values, steady

pytestmark = pytest.mark.django_db

D = Decimal
DEC_2025 = "?period=month&at=2025-12&compare=previous&scope=all"


def url(name, *args):
    return reverse(name, args=["acme", *args])


def pages(org, campaign):
    kpi = org.kpis.get(code="conversion_rate")
    return [
        url("overview"),
        url("kpi_list"),
        url("kpi_detail", kpi.pk),
        url("kpi_benchmarks", kpi.pk),
        url("channels"),
        url("campaign_dashboard", campaign.pk),
    ]


# --------------------------------------------------------------------------- access


def test_members_see_every_dashboard_page(login, viewer, org, campaign, two_years):
    client = login(viewer)
    for page in pages(org, campaign):
        response = client.get(page + DEC_2025)
        assert response.status_code == 200, page


def test_outsiders_get_404_on_every_dashboard_page(login, outsider, org, campaign):
    client = login(outsider)
    for page in pages(org, campaign):
        assert client.get(page).status_code == 404, page


def test_anonymous_visitors_are_sent_to_log_in(client, org, campaign):
    for page in pages(org, campaign):
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_kpi_or_a_campaign_of_another_organization_is_404(login, outsider, other_org):
    other_kpi = other_org.kpis.get(code="cac")
    other_campaign = make_campaign(other_org, name="Theirs")
    client = login(outsider)
    assert client.get(reverse("kpi_detail", args=["acme", other_kpi.pk])).status_code == 404
    for name, pk in (("kpi_detail", other_kpi.pk), ("campaign_dashboard", other_campaign.pk)):
        # Their own organization's slug, but the object is theirs: fine; ours: 404.
        assert client.get(reverse(name, args=["other", pk])).status_code == 200


def test_the_pages_of_one_organization_never_show_anothers_objects(
    login, admin_user, org, other_org, campaign
):
    theirs = other_org.kpis.get(code="cac")
    client = login(admin_user)
    assert client.get(reverse("kpi_detail", args=["acme", theirs.pk])).status_code == 404
    assert client.get(reverse("kpi_benchmarks", args=["acme", theirs.pk])).status_code == 404


# ----------------------------------------------------------------------- benchmarks


def benchmark_post(**fields):
    data = {
        "label": "Instagram (sector)",
        "value": "1.9",
        "source": "Seed 000",
        "period_start": "2025-01",
        "period_end": "",
    }
    data.update(fields)
    return data


def test_an_admin_records_a_benchmark(login, admin_user, org):
    kpi = org.kpis.get(code="engagement_rate")
    response = login(admin_user).post(url("kpi_benchmarks", kpi.pk), benchmark_post())
    assert response.status_code == 302
    benchmark = Benchmark.objects.get(organization=org, kpi=kpi)
    assert (benchmark.value, benchmark.period_start, benchmark.period_end) == (
        D("1.9"),
        date(2025, 1, 1),
        None,
    )


def test_a_benchmark_in_french_takes_a_decimal_comma(login, admin_user, org, client):
    client.cookies["django_language"] = "fr"
    kpi = org.kpis.get(code="engagement_rate")
    login(admin_user).post(url("kpi_benchmarks", kpi.pk), benchmark_post(value="1,9"))
    assert Benchmark.objects.get(kpi=kpi).value == D("1.9")


def test_a_benchmark_ending_before_it_starts_is_refused(login, admin_user, org):
    kpi = org.kpis.get(code="engagement_rate")
    response = login(admin_user).post(
        url("kpi_benchmarks", kpi.pk), benchmark_post(period_end="2024-06")
    )
    assert response.status_code == 400
    assert not Benchmark.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_only_admins_record_or_remove_benchmarks(request, login, org, who):
    user = request.getfixturevalue(who)
    kpi = org.kpis.get(code="engagement_rate")
    benchmark = Benchmark.objects.create(
        organization=org, kpi=kpi, label="Sector", period_start=date(2025, 1, 1), value=D(2)
    )
    client = login(user)
    page = client.get(url("kpi_benchmarks", kpi.pk))
    assert page.status_code == 200 and b"Sector" in page.content
    assert b"Record a benchmark" not in page.content
    assert client.post(url("kpi_benchmarks", kpi.pk), benchmark_post()).status_code == 403
    delete = url("kpi_benchmark_delete", kpi.pk, benchmark.pk)
    assert client.post(delete).status_code == 403
    assert Benchmark.objects.count() == 1


def test_an_admin_removes_a_benchmark(login, admin_user, org):
    kpi = org.kpis.get(code="engagement_rate")
    benchmark = Benchmark.objects.create(
        organization=org, kpi=kpi, label="Sector", period_start=date(2025, 1, 1), value=D(2)
    )
    response = login(admin_user).post(url("kpi_benchmark_delete", kpi.pk, benchmark.pk))
    assert response.status_code == 302
    assert not Benchmark.objects.exists()


def test_removing_a_benchmark_needs_a_post(login, admin_user, org):
    kpi = org.kpis.get(code="engagement_rate")
    benchmark = Benchmark.objects.create(
        organization=org, kpi=kpi, label="Sector", period_start=date(2025, 1, 1), value=D(2)
    )
    assert (
        login(admin_user).get(url("kpi_benchmark_delete", kpi.pk, benchmark.pk)).status_code == 405
    )


# ------------------------------------------------------------------------- overview


def test_the_overview_shows_a_tile_per_followed_kpi(login, viewer, org, two_years):
    content = login(viewer).get(url("overview") + DEC_2025).content.decode()
    followed = org.kpis.filter(followed=True)
    assert content.count('class="tile ') == followed.count()
    assert 'id="tile-conversion_rate"' in content
    assert "2.50%" in content  # December 2025's conversion rate
    assert "Spend vs budget" in content and "Spring sale" in content


def test_the_overview_says_what_to_do_when_there_is_no_data_yet(login, editor, org):
    content = login(editor).get(url("overview")).content.decode()
    assert "No numbers yet" in content
    assert url("data_grid") in content and url("campaign_create") in content


def test_the_overview_lists_objectives_with_their_progress(login, viewer, org, campaign, two_years):
    objective = Objective.objects.create(
        organization=org, title="Convert 3 %", kpi=org.kpis.get(code="conversion_rate"),
        category="conversion", baseline_value=D(2), baseline_start=date(2024, 1, 1),
        baseline_end=date(2024, 12, 1), target_value=D(3), start_date=date(2025, 1, 1),
        deadline=date(2025, 12, 31),
    )  # fmt: skip
    objective.campaigns.add(campaign)
    content = login(viewer).get(url("overview") + DEC_2025).content.decode()
    assert "Convert 3 %" in content
    assert "50% of the way from baseline to target" in content
    assert "Off track" in content
    assert "target reached" not in content
    objective.target_value = D("2.4")  # the 2.5 % of December is beyond it
    objective.save()
    organization_data_changed(organization_id=org.pk)  # as campaigns.services does
    content = login(viewer).get(url("overview") + DEC_2025).content.decode()
    assert "target reached" in content and "needed per month" not in content


def test_the_overview_filters_work_as_a_plain_form_and_links(login, viewer, org, two_years):
    content = login(viewer).get(url("overview") + DEC_2025).content.decode()
    assert 'method="get"' in content and f'action="{url("overview")}"' in content
    assert 'hx-get="/o/acme/"' in content
    assert 'rel="prev" href="/o/acme/?period=month&amp;at=2025-11' in content


@pytest.mark.parametrize(
    "query",
    ["?period=ytd&at=2025-06&compare=last_year", "?period=r12&compare=target",
     "?period=custom&from=2024-03&to=2025-02&compare=custom&vs=2023-03",
     "?period=quarter&at=2025-05&scope=channel:paid_search", "?period=year&scope=campaign:{pk}",
     "?period=nonsense&at=20-20&compare=x&scope=campaign:0"],
)  # fmt: skip
def test_every_filter_combination_renders(login, viewer, org, campaign, two_years, query):
    page = url("overview") + query.format(pk=campaign.pk)
    assert login(viewer).get(page).status_code == 200


# ------------------------------------------------------------------------------ htmx


def hx(client, page, current):
    return client.get(
        page, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver" + current
    )


def test_changing_the_comparison_swaps_only_the_tiles_and_the_summary(
    login, viewer, org, two_years
):
    client = login(viewer)
    current = url("overview") + DEC_2025
    response = hx(client, current.replace("previous", "last_year"), current)
    content = response.content.decode()
    assert 'id="ov-tiles"' in content and 'id="ov-summary"' in content
    assert 'id="ov-objectives"' not in content and 'id="ov-campaigns"' not in content
    assert content.count('hx-swap-oob="true"') == 2
    assert "<html" not in content
    assert response["HX-Push-Url"] == (
        "/o/acme/?period=month&at=2025-12&compare=last_year&scope=all"
    )
    assert "HX-Request" in response["Vary"]


def test_changing_the_period_swaps_every_section(login, viewer, org, two_years):
    client = login(viewer)
    current = url("overview") + DEC_2025
    content = hx(client, current.replace("2025-12", "2025-11"), current).content.decode()
    for section in ("ov-summary", "ov-tiles", "ov-objectives", "ov-campaigns"):
        assert f'id="{section}"' in content


def test_a_history_restore_gets_the_whole_page(login, viewer, org, two_years):
    response = login(viewer).get(
        url("overview") + DEC_2025,
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/o/acme/",
    )
    assert "<html" in response.content.decode()


def test_the_kpi_page_swaps_the_bars_alone_when_grouped_by_channel(login, viewer, org, two_years):
    kpi = org.kpis.get(code="conversion_rate")
    current = url("kpi_detail", kpi.pk) + DEC_2025
    content = hx(login(viewer), current + "&by=channel", current).content.decode()
    assert 'id="kpi-bars"' in content
    assert 'id="kpi-timeseries"' not in content and 'id="kpi-headline"' not in content


def test_the_channels_page_swaps_the_trend_alone_for_another_measure(login, viewer, org, two_years):
    current = url("channels") + DEC_2025
    content = hx(login(viewer), current + "&measure=roi", current).content.decode()
    assert 'id="channels-trend"' in content and 'id="channels-table"' not in content


# ------------------------------------------------------------------------- KPI page


def test_the_kpi_page_shows_the_series_the_bars_and_the_months(
    login, viewer, org, campaign, two_years
):
    kpi = org.kpis.get(code="conversion_rate")
    Benchmark.objects.create(
        organization=org, kpi=kpi, label="Sector average", source="Study",
        period_start=date(2024, 1, 1), value=D(3),
    )  # fmt: skip
    content = login(viewer).get(url("kpi_detail", kpi.pk) + DEC_2025).content.decode()
    assert 'data-figure="kpi-timeseries-data"' in content
    assert 'data-figure="kpi-bars-data"' in content
    assert "Sector average" in content
    assert "December 2025" in content and "January 2024" in content
    assert "&amp;inputs=2025-06" in content  # each value opens its inputs


def test_a_value_opens_the_metrics_and_formula_behind_it(login, viewer, org, two_years):
    kpi = org.kpis.get(code="conversion_rate")
    content = login(viewer).get(url("kpi_detail", kpi.pk) + DEC_2025 + "&inputs=2025-06")
    text = content.content.decode()
    assert "Behind the number: June 2025" in text
    assert "conversion_rate = conversions / visitors * 100 = <strong>2.50%</strong>" in text
    assert "1,000" in text  # June's visitors


def test_the_kpi_page_compares_by_channel(login, viewer, org, campaign, two_years):
    make_campaign(org, name="Newsletter", channel="email")
    kpi = org.kpis.get(code="conversion_rate")
    content = login(viewer).get(url("kpi_detail", kpi.pk) + DEC_2025 + "&by=channel")
    assert "By channel" in content.content.decode()


# ----------------------------------------------------------------- channels, campaign


def test_the_channels_page_lists_the_channels_in_use(login, viewer, org, campaign, two_years):
    make_campaign(org, name="Newsletter", channel="email")
    content = login(viewer).get(url("channels") + DEC_2025).content.decode()
    assert "Paid search" in content and "Email" in content
    assert "Display" not in content.split('id="channels-table"')[1].split("</section>")[0]
    assert 'data-figure="channel-trend-data"' in content


def test_the_campaign_page_shows_its_kpis_budget_and_funnel(
    login, viewer, org, campaign, two_years
):
    content = login(viewer).get(url("campaign_dashboard", campaign.pk) + DEC_2025).content
    text = content.decode()
    assert "Spring sale" in text
    assert 'data-figure="campaign-funnel-data"' in text
    assert 'data-figure="campaign-spend-data"' in text
    assert "budget spread evenly" in text
    assert text.count('class="tile ') == org.kpis.filter(followed=True).count()


# ------------------------------------------------------------------- constant queries


def count(client, page) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page)
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize(
    "name,query",
    [("overview", DEC_2025), ("overview", "?period=r12&at=2025-12&compare=last_year"),
     ("kpi_list", DEC_2025), ("kpi_detail", DEC_2025 + "&inputs=2025-06"),
     ("kpi_detail", "?period=ytd&at=2025-12&compare=target&by=campaign"),
     ("channels", DEC_2025), ("channels", "?period=r12&at=2025-12&measure=cac"),
     ("campaign_dashboard", DEC_2025)],
)  # fmt: skip
def test_queries_do_not_grow_with_kpis_campaigns_or_months(
    login, viewer, org, campaign, two_years, name, query, django_assert_max_num_queries
):
    def page():
        args = {"kpi_detail": [org.kpis.get(code="conversion_rate").pk],
                "campaign_dashboard": [campaign.pk]}.get(name, [])  # fmt: skip
        return url(name, *args) + query

    def objective(kpi, title):
        created = Objective.objects.create(
            organization=org, title=title, kpi=kpi, category="conversion",
            baseline_value=D(1), baseline_start=date(2024, 1, 1), baseline_end=date(2024, 3, 1),
            target_value=D(2), start_date=date(2025, 1, 1), deadline=date(2026, 6, 30),
        )  # fmt: skip
        created.campaigns.add(campaign)

    client = login(viewer)
    kpi = org.kpis.get(code="conversion_rate")
    objective(kpi, "First")  # one of each: what grows is counted, not what appears
    Benchmark.objects.create(
        organization=org, kpi=kpi, label="B", period_start=date(2021, 1, 1), value=D(1)
    )
    small = count(client, page())
    # Twelve more campaigns on four channels, three more years, every KPI followed,
    # objectives and benchmarks.
    for index in range(12):
        other = make_campaign(
            org, name=f"Campaign {index}", channel=("email", "seo", "display", "paid_social")[index % 4],
            budget=D(1000),
        )  # fmt: skip
        put_values(
            org, other, steady(date(2021, 1, 1), 60, visitors=100, conversions=3, spend=50,
                               impressions=900, clicks=40, leads=5, new_customers=1),
            recompute=False,
        )  # fmt: skip
    kpis_recompute_all(organization=org)
    org.kpis.update(followed=True)
    for index, other_kpi in enumerate(org.kpis.all()[:5]):
        Benchmark.objects.create(
            organization=org, kpi=kpi, label=f"B{index}", period_start=date(2021, 1, 1), value=D(1)
        )
        objective(other_kpi, f"O{index}")
        objective(kpi, f"P{index}")
    address = page()
    organization_data_changed(organization_id=org.pk)  # rendered, not read from the cache
    with django_assert_max_num_queries(small):
        response = client.get(address)
    assert response.status_code == 200


def test_a_campaign_page_opens_on_the_campaigns_last_month(login, viewer, org, two_years):
    ended = make_campaign(org, name="Fair", channel="offline", start_date=date(2024, 11, 1))
    put_values(org, ended, {"leads": {date(2024, 11, 1): 300}, "spend": {date(2024, 11, 1): 900}})
    content = login(viewer).get(url("campaign_dashboard", ended.pk)).content.decode()
    assert "<h2>November 2024</h2>" in content
