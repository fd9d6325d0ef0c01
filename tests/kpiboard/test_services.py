import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from kpiboard.models import Membership, Organization
from kpiboard.services import organization_create
from metrics import catalog
from metrics.services import catalog_install

pytestmark = pytest.mark.django_db


def test_a_new_organization_starts_with_the_standard_catalog(org):
    assert set(org.metrics.values_list("code", flat=True)) == {m.code for m in catalog.METRICS}
    assert set(org.kpis.values_list("code", flat=True)) == {k.code for k in catalog.KPIS}
    cac = org.kpis.get(code="cac")
    assert (cac.formula, cac.unit, cac.direction) == ("spend / new_customers", "money", "lower")
    assert org.metrics.get(code="followers").rollup == "last"
    assert org.metrics.get(code="customers_start").rollup == "first"
    assert org.metric_aliases.filter(alias="Amount spent", metric__code="spend").exists()


def test_installing_the_catalog_twice_changes_nothing(org):
    before = (org.metrics.count(), org.kpis.count(), org.metric_aliases.count())
    catalog_install(organization=org)
    assert (org.metrics.count(), org.kpis.count(), org.metric_aliases.count()) == before


def test_every_catalog_formula_uses_known_codes(org):
    from metrics.formulas import compile_catalog

    compiled = compile_catalog(
        dict(org.kpis.values_list("code", "formula")), org.metrics.values_list("code", flat=True)
    )
    assert set(compiled.order) == {k.code for k in catalog.KPIS}


def test_organization_create_refuses_a_bad_currency(db):
    with pytest.raises(ValidationError):
        organization_create(name="X", slug="x", currency="EURO")
    assert not Organization.objects.filter(slug="x").exists()


def test_create_org_command(db, django_user_model):
    django_user_model.objects.create_user("boss", password="x")
    out = io.StringIO()
    call_command("create_org", "shop", "--name", "The Shop", "--currency", "chf", "--language",
                 "en", "--owner", "boss", stdout=out)  # fmt: skip
    organization = Organization.objects.get(slug="shop")
    assert organization.currency == "CHF"
    assert organization.kpis.count() == len(catalog.KPIS)
    assert Membership.objects.get(organization=organization).role == "admin"
    assert "24 metrics and 23 KPIs" in out.getvalue()


def test_create_org_command_errors_are_clear(db):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_org", "shop", "--name", "Shop", "--owner", "ghost")
    with pytest.raises(CommandError, match="currency"):
        call_command("create_org", "shop", "--name", "Shop", "--currency", "XYZW")


def test_admin_creates_organizations_through_the_same_service(client, django_user_model):
    # (The `admin_user` fixture here is an organization's admin; this one is a superuser.)
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    response = client.post("/admin/kpiboard/organization/add/", {
        "name": "Via Admin", "slug": "via-admin", "currency": "USD", "language": "en",
        "time_zone": "Europe/Paris", "fiscal_year_start_month": 1, "on_track_threshold": 100,
        "at_risk_threshold": 90, "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    })  # fmt: skip
    assert response.status_code == 302, response.text[:2000]
    assert response["Location"] == "/admin/kpiboard/organization/"
    assert Organization.objects.get(slug="via-admin").kpis.count() == len(catalog.KPIS)


def test_anyone_logged_in_starts_an_organization_and_becomes_its_admin(client, viewer):
    client.force_login(viewer)
    response = client.post("/organizations/new/", {
        "name": "Fresh", "slug": "fresh", "currency": "usd", "language": "en",
        "fiscal_year_start_month": 4,
    })  # fmt: skip
    assert response["Location"] == "/o/fresh/"
    organization = Organization.objects.get(slug="fresh")
    assert (organization.currency, organization.fiscal_year_start_month) == ("USD", 4)
    assert organization.kpis.count() == len(catalog.KPIS)
    assert Membership.objects.get(organization=organization, user=viewer).role == "admin"


def test_a_refused_organization_form_keeps_what_was_typed(client, org, viewer):
    client.force_login(viewer)
    response = client.post("/organizations/new/", {
        "name": "Copy", "slug": org.slug, "currency": "EURO", "language": "fr",
        "fiscal_year_start_month": 1,
    })  # fmt: skip
    assert response.status_code == 200
    assert 'value="Copy"' in response.text
    assert "This address is taken." in response.text
    assert Organization.objects.filter(name="Copy").count() == 0


def test_creating_an_organization_needs_an_account(client, db):
    assert client.get("/organizations/new/")["Location"].startswith("/accounts/login/")
