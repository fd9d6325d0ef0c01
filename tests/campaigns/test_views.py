from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Objective
from metrics.models import StaleMark

from .conftest import make_campaign, make_objective, put_values

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(name, args=["acme", *args])


def campaign_post(**fields):
    data = {
        "name": "Summer push",
        "channel": "email",
        "market": "Suisse romande",
        "start_date": "2025-06-01",
        "end_date": "",
        "budget": "2500",
    }
    data.update(fields)
    return data


# Lists: everyone reads, only editors see editing controls


def test_viewers_read_the_campaign_list_without_editing_controls(login, viewer, campaign):
    response = login(viewer).get(url("campaign_list"))
    assert response.status_code == 200
    assert b"Spring sale" in response.content
    assert url("campaign_create").encode() not in response.content
    assert url("campaign_edit", campaign.pk).encode() not in response.content


def test_editors_see_the_campaign_editing_controls(login, editor, campaign):
    response = login(editor).get(url("campaign_list"))
    assert url("campaign_create").encode() in response.content
    assert url("campaign_edit", campaign.pk).encode() in response.content


def test_viewers_read_the_objective_list_without_editing_controls(login, viewer, org):
    objective = make_objective(org)
    response = login(viewer).get(url("objective_list"))
    assert response.status_code == 200
    assert b"More conversions" in response.content
    assert url("objective_create").encode() not in response.content
    assert url("objective_edit", objective.pk).encode() not in response.content


@pytest.mark.parametrize("name", ["campaign_list", "objective_list"])
def test_lists_are_hidden_from_outsiders(login, outsider, org, name):
    assert login(outsider).get(url(name)).status_code == 404


@pytest.mark.parametrize("name", ["campaign_list", "objective_list"])
def test_lists_send_anonymous_people_to_log_in(client, org, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_campaign_list_queries_do_not_grow_with_campaigns(
    login, viewer, org, django_assert_max_num_queries
):
    for i in range(5):
        campaign = make_campaign(org, name=f"C{i}")
        make_objective(org, title=f"O{i}").campaigns.add(campaign)
    client = login(viewer)
    with django_assert_max_num_queries(12):
        client.get(url("campaign_list"))


# Every write view: viewers 403, outsiders 404, anonymous to the login page


def write_urls(org, campaign, objective):
    return [
        ("get", url("campaign_create")),
        ("post", url("campaign_create")),
        ("get", url("campaign_edit", campaign.pk)),
        ("post", url("campaign_edit", campaign.pk)),
        ("get", url("campaign_delete", campaign.pk)),
        ("post", url("campaign_delete", campaign.pk)),
        ("get", url("objective_create")),
        ("post", url("objective_create")),
        ("get", url("objective_edit", objective.pk)),
        ("post", url("objective_edit", objective.pk)),
        ("get", url("objective_delete", objective.pk)),
        ("post", url("objective_delete", objective.pk)),
        ("get", url("objective_assist")),
    ]


def test_viewers_get_403_on_every_write_view(login, viewer, org, campaign):
    client = login(viewer)
    for method, target in write_urls(org, campaign, make_objective(org)):
        assert getattr(client, method)(target).status_code == 403, (method, target)
    assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_outsiders_get_404_on_every_write_view(login, outsider, org, campaign):
    client = login(outsider)
    for method, target in write_urls(org, campaign, make_objective(org)):
        assert getattr(client, method)(target).status_code == 404, (method, target)


def test_anonymous_people_are_sent_to_log_in_from_every_write_view(client, org, campaign):
    for method, target in write_urls(org, campaign, make_objective(org)):
        response = getattr(client, method)(target)
        assert response.status_code == 302, (method, target)
        assert response.url.startswith(reverse("login"))


def test_another_organizations_campaign_is_404_for_editors(login, editor, other_org):
    foreign = make_campaign(other_org)
    client = login(editor)
    assert client.get(url("campaign_edit", foreign.pk)).status_code == 404
    assert client.post(url("campaign_delete", foreign.pk)).status_code == 404
    assert Campaign.objects.filter(pk=foreign.pk).exists()


def test_another_organizations_objective_is_404_for_editors(login, editor, other_org):
    foreign = make_objective(other_org)
    client = login(editor)
    assert client.get(url("objective_edit", foreign.pk)).status_code == 404
    assert client.post(url("objective_delete", foreign.pk)).status_code == 404


# Campaign forms


def test_editors_create_a_campaign(login, editor, org):
    objective = make_objective(org)
    response = login(editor).post(url("campaign_create"), campaign_post(objectives=[objective.pk]))
    assert response.status_code == 302
    campaign = Campaign.objects.get(organization=org, name="Summer push")
    assert campaign.budget == Decimal(2500)
    assert list(campaign.objectives.all()) == [objective]


def test_a_rejected_campaign_form_keeps_what_was_typed(login, editor, org, campaign):
    response = login(editor).post(
        url("campaign_create"), campaign_post(name="Spring sale", budget="deux mille")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="deux mille"' in html
    assert 'value="Suisse romande"' in html
    assert "A campaign with this name already exists." not in html  # form errors first
    assert 'id="id_budget_error"' in html


def test_a_taken_name_is_reported_next_to_the_name(login, editor, org, campaign):
    response = login(editor).post(url("campaign_create"), campaign_post(name="Spring sale"))
    assert 'id="id_name_error"' in response.content.decode()


def test_editing_the_channel_recomputes_every_kpi(login, editor, org, campaign):
    client = login(editor)
    page = client.get(url("campaign_edit", campaign.pk)).content.decode()
    stamp = page.split('name="fingerprint" value="')[1].split('"')[0]
    response = client.post(
        url("campaign_edit", campaign.pk),
        campaign_post(name="Spring sale", channel="display", fingerprint=stamp),
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.channel == "display"
    assert StaleMark.objects.filter(organization=org, campaign=None, kpi=None).exists()


def test_an_edit_over_someone_elses_is_refused_then_allowed_knowingly(login, editor, org, campaign):
    client = login(editor)
    page = client.get(url("campaign_edit", campaign.pk)).content.decode()
    stamp = page.split('name="fingerprint" value="')[1].split('"')[0]
    Campaign.objects.filter(pk=campaign.pk).update(market="Belgique")
    response = client.post(
        url("campaign_edit", campaign.pk), campaign_post(name="Mine", fingerprint=stamp)
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Someone else changed this" in html
    new_stamp = html.split('name="fingerprint" value="')[1].split('"')[0]
    assert new_stamp != stamp
    response = client.post(
        url("campaign_edit", campaign.pk), campaign_post(name="Mine", fingerprint=new_stamp)
    )
    assert response.status_code == 302


def test_editors_delete_a_campaign_after_confirming(login, editor, org, campaign):
    put_values(org, campaign, {"visitors": {date(2025, 1, 1): "10"}})
    client = login(editor)
    confirm = client.get(url("campaign_delete", campaign.pk))
    assert b"1 monthly value" in confirm.content
    assert b"campaign target" not in confirm.content  # it has none: not listed as 0
    assert client.post(url("campaign_delete", campaign.pk)).status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_the_delete_confirmation_names_what_stays_in_the_persons_language(
    login, editor, org, campaign
):
    make_objective(org, title="Plus de ventes").campaigns.add(campaign)
    client = login(editor)
    client.cookies["django_language"] = "fr"
    page = client.get(url("campaign_delete", campaign.pk)).content.decode()
    assert "Elle n’a encore ni valeur ni cible : rien d’autre n’est supprimé." in page
    assert "Cet objectif est conservé, sans cette campagne : « Plus de ventes »" in page


# Objective forms


def objective_post(org, **fields):
    data = {
        "title": "Raise online sales",
        "kpi": org.kpis.get(code="conversion_rate").pk,
        "category": "conversion",
        "baseline_start": "2024-10",
        "baseline_end": "2024-12",
        "baseline_value": "4.1",
        "target_kind": "relative",
        "target_value": "20",
        "start_date": "2025-01-01",
        "deadline": "2025-03-31",
    }
    data.update(fields)
    return data


def test_editors_create_an_objective(login, editor, org, campaign):
    response = login(editor).post(
        url("objective_create"), objective_post(org, campaigns=[campaign.pk], owner=editor.pk)
    )
    assert response.status_code == 302
    objective = Objective.objects.get(organization=org)
    assert objective.target_absolute == Decimal("4.92")
    assert objective.owner == editor


def test_the_new_objective_form_starts_with_sensible_dates(login, editor, org):
    response = login(editor).get(url("objective_create"))
    assert response.status_code == 200
    assert b'type="month"' in response.content
    assert b"Is it achievable?" in response.content


def test_a_rejected_objective_form_keeps_what_was_typed(login, editor, org):
    response = login(editor).post(
        url("objective_create"),
        objective_post(org, title="Keep me", deadline="2024-12-01", target_value="vingt"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="Keep me"' in html
    assert 'value="vingt"' in html
    assert 'id="id_deadline_error"' in html
    assert 'id="id_target_value_error"' in html
    assert not Objective.objects.exists()


def test_editing_an_objective_shows_its_outlook(login, editor, org, campaign):
    months = [date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1)]
    put_values(
        org,
        campaign,
        {
            "conversions": dict(zip(months, ["40", "42", "41"], strict=True)),
            "visitors": dict.fromkeys(months, "1000"),
        },
    )
    objective = make_objective(org, baseline_value=Decimal("4.1"), target_value=Decimal("6"))
    response = login(editor).get(url("objective_edit", objective.pk))
    html = response.content.decode()
    assert "Beyond what the history shows." in html
    assert "the best month-on-month gain in the 24 months before the start" in html
    assert "+0.20\u00a0pt" in html


def test_editors_delete_an_objective(login, editor, org):
    objective = make_objective(org)
    assert login(editor).post(url("objective_delete", objective.pk)).status_code == 302
    assert not Objective.objects.filter(pk=objective.pk).exists()


# The assist panel (HTMX)


def test_choosing_a_kpi_fills_the_baseline_in_from_history(login, editor, org, campaign):
    months = [date(2024, 10, 1), date(2024, 11, 1), date(2024, 12, 1)]
    put_values(
        org,
        campaign,
        {
            "conversions": dict(zip(months, ["40", "42", "41"], strict=True)),
            "visitors": dict.fromkeys(months, "1000"),
        },
    )
    data = objective_post(org, baseline_value="", changed="kpi")
    response = login(editor).get(url("objective_assist"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="objective-assist"' in html
    assert 'hx-swap-oob="true"' in html
    assert 'name="baseline_value" value="4.10"' in html
    assert "Filled in from the history of Oct 2024 – Dec 2024 (all campaigns)" in html
    assert "This needs +0.41\u00a0pt per month" in html


def test_typing_a_target_leaves_the_typed_baseline_alone(login, editor, org, campaign):
    data = objective_post(org, baseline_value="3", changed="target_value")
    html = login(editor).get(url("objective_assist"), data).content.decode()
    assert "hx-swap-oob" not in html
    assert "€" not in html
    assert "3.60%" in html  # the relative target applied to the typed baseline


def test_the_assist_says_when_history_has_no_value(login, editor, org):
    data = objective_post(org, changed="baseline_end")
    html = login(editor).get(url("objective_assist"), data).content.decode()
    assert "The history has no value for Oct 2024 – Dec 2024" in html
    assert 'value="4.1"' in html  # what was typed stays


def test_the_assist_says_at_once_what_is_wrong_with_a_target_typed(login, editor, org):
    data = objective_post(org, target_kind="relative", target_value="-150", changed="target_value")
    html = login(editor).get(url("objective_assist"), data).content.decode()
    assert "below −100" in html or "below -100" in html
    assert "Type a baseline and a target" not in html
