"""Tenancy: walk every URL of an organization. An outsider gets 404 (as if it did not
exist), an anonymous visitor is sent to log in. New views are covered as they are added."""

import re
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from campaigns.models import Objective

pytestmark = pytest.mark.django_db

SAMPLE_KWARGS = {"int": "1", "slug": "x", "str": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}  # fmt: skip


def organization_urls():
    """Every URL pattern under /o/<org_slug>/, as (route with converters, name)."""
    found = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append((prefix + str(p.pattern), p.name))

    walk(get_resolver().url_patterns, "")
    return [(route, name) for route, name in found if route.startswith("o/<slug:org_slug>/")]


def fill(route: str, slug: str, objects: dict) -> str:
    def replace(match):
        converter, name = match.group(1) or "str", match.group(2)
        if name == "org_slug":
            return slug
        if name in objects:
            return str(objects[name])
        return SAMPLE_KWARGS[converter]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


@pytest.fixture
def objects(org, campaign, admin_user):
    kpi = org.kpis.get(code="cac")
    objective = Objective.objects.create(
        organization=org, title="Lower CAC", kpi=kpi, category="conversion",
        baseline_value=100, baseline_start=date(2025, 1, 1), baseline_end=date(2025, 3, 1),
        target_value=80, start_date=date(2025, 4, 1), deadline=date(2025, 12, 31),
    )  # fmt: skip
    return {
        "campaign_id": campaign.pk,
        "objective_id": objective.pk,
        "kpi_id": kpi.pk,
        "kpi_code": kpi.code,
        "metric_id": org.metrics.get(code="visitors").pk,
        "metric_code": "visitors",
        "membership_id": admin_user.memberships.get().pk,
        "user_id": admin_user.pk,
        "year": "2025",
        "month": "2025-01",
    }


def test_there_are_organization_urls_to_walk():
    assert len(organization_urls()) >= 1


def test_an_outsider_gets_404_on_every_organization_url(client, org, outsider, objects):
    client.force_login(outsider)
    for route, name in organization_urls():
        url = fill(route, org.slug, objects)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 404, f"{method.__name__.upper()} {url} ({name})"


def test_an_unknown_organization_is_404_too(client, outsider):
    client.force_login(outsider)
    assert client.get("/o/no-such-org/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, org, objects):
    for route, name in organization_urls():
        url = fill(route, org.slug, objects)
        response = client.get(url)
        assert response.status_code == 302, f"GET {url} ({name})"
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_a_member_sees_the_overview(client, org, viewer):
    client.force_login(viewer)
    response = client.get(f"/o/{org.slug}/")
    assert response.status_code == 200
    assert org.name in response.text


def test_home_takes_a_member_to_their_organization(client, org, viewer):
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"/o/{org.slug}/"


def test_home_remembers_the_last_organization_viewed(client, org, other_org, viewer):
    from kpiboard.services import membership_set

    membership_set(organization=other_org, user=viewer, role="viewer")
    client.force_login(viewer)
    client.get(f"/o/{other_org.slug}/")
    assert client.get("/")["Location"] == f"/o/{other_org.slug}/"


def test_home_without_membership_says_so(client, db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("lonely", password="x")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "not a member of any organization" in response.text


def test_the_switcher_lists_only_my_organizations(client, org, other_org, viewer):
    client.force_login(viewer)
    page = client.get(f"/o/{org.slug}/").text
    assert f"/o/{org.slug}/" in page
    assert f"/o/{other_org.slug}/" not in page


def test_the_organization_menu_offers_catalog_and_members_to_admins_only(
    client, org, admin_user, editor
):
    catalog, members = f"/o/{org.slug}/catalog/", f"/o/{org.slug}/members/"
    client.force_login(admin_user)
    page = client.get(f"/o/{org.slug}/").text
    assert f'href="{catalog}"' in page and f'href="{members}"' in page
    client.force_login(editor)
    page = client.get(f"/o/{org.slug}/").text
    assert catalog not in page and members not in page
    assert 'action="/accounts/logout/"' in page  # logging out is in the same menu
