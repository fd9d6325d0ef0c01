import pytest
from django.urls import reverse

from metrics.models import KPI, Metric

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(name, args=["acme", *args])


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


def kpi_post(**fields):
    data = {
        "code": "download_rate",
        "label_fr": "Taux de téléchargement",
        "label_en": "Download rate",
        "formula": "conversions / visitors * 100",
        "unit": "percent",
        "decimals": "2",
        "direction": "higher",
        "indicator": "leading",
        "stage": "consideration",
    }
    data.update(fields)
    return data


def metric_post(**fields):
    data = {
        "code": "downloads",
        "label_fr": "Téléchargements",
        "label_en": "Downloads",
        "kind": "count",
        "rollup": "sum",
        "aliases": "DL\nInstalls",
    }
    data.update(fields)
    return data


def catalog_urls(org):
    metric = org.metrics.get(code="visitors")
    kpi = org.kpis.get(code="ctr")
    return [
        ("get", url("catalog")),
        ("get", url("catalog_metric_create")),
        ("post", url("catalog_metric_create")),
        ("get", url("catalog_metric_edit", metric.pk)),
        ("post", url("catalog_metric_edit", metric.pk)),
        ("get", url("catalog_metric_delete", metric.pk)),
        ("post", url("catalog_metric_delete", metric.pk)),
        ("get", url("catalog_kpi_create")),
        ("post", url("catalog_kpi_create")),
        ("get", url("catalog_kpi_edit", kpi.pk)),
        ("post", url("catalog_kpi_edit", kpi.pk)),
        ("get", url("catalog_kpi_delete", kpi.pk)),
        ("post", url("catalog_kpi_delete", kpi.pk)),
        ("get", url("catalog_formula_check") + "?formula=clicks"),
    ]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_reach_the_catalog(request, login, org, role):
    client = login(request.getfixturevalue(role))
    for method, target in catalog_urls(org):
        assert getattr(client, method)(target).status_code == 403, (method, target)
    assert org.kpis.filter(code="ctr").exists()


def test_outsiders_get_404_on_the_catalog(login, outsider, org):
    client = login(outsider)
    for method, target in catalog_urls(org):
        assert getattr(client, method)(target).status_code == 404, (method, target)


def test_anonymous_people_are_sent_to_log_in_from_the_catalog(client, org):
    for method, target in catalog_urls(org):
        response = getattr(client, method)(target)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_admins_see_the_catalog(login, admin_user, org, django_assert_max_num_queries):
    client = login(admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(url("catalog"))
    html = response.content.decode()
    assert "conversions / visitors * 100" in html
    assert url("catalog_kpi_create") in html


def test_the_catalog_is_in_the_nav_of_admins_only(login, admin_user, editor, org):
    assert url("catalog").encode() in login(admin_user).get(url("overview")).content
    assert url("members").encode() in login(admin_user).get(url("overview")).content
    page = login(editor).get(url("overview")).content
    assert url("catalog").encode() not in page
    assert url("members").encode() not in page


def test_admins_create_a_kpi(login, admin_user, org):
    response = login(admin_user).post(url("catalog_kpi_create"), kpi_post())
    assert response.status_code == 302
    kpi = KPI.objects.get(organization=org, code="download_rate")
    assert kpi.position == max(org.kpis.values_list("position", flat=True))


def test_a_wrong_formula_shows_a_caret_under_the_error_and_keeps_the_input(login, admin_user, org):
    response = login(admin_user).post(
        url("catalog_kpi_create"), kpi_post(formula="conversions / visitorz * 100")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="conversions / visitorz * 100"' in html
    assert "Unknown code &quot;visitorz&quot; at position 15." in html
    assert "conversions / visitorz * 100\n" + " " * 14 + '<span class="caret">^</span>' in html
    assert not KPI.objects.filter(code="download_rate").exists()


def test_the_live_check_lists_the_codes_a_formula_uses(login, admin_user, org):
    response = login(admin_user).get(
        url("catalog_formula_check"), {"formula": "clicks / impressions * 100", "code": "x"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="formula-check"')
    assert "Impressions" in html
    assert "The formula is valid." in html


def test_the_live_check_shows_the_error_position(login, admin_user, org):
    response = login(admin_user).get(url("catalog_formula_check"), {"formula": "clicks *"})
    html = response.content.decode()
    assert "The formula ends unexpectedly at position 9." in html
    assert "clicks *\n" + " " * 8 + '<span class="caret">^</span>' in html


def test_the_live_check_of_a_kpi_of_another_organization_is_404(login, admin_user, other_org):
    foreign = other_org.kpis.get(code="ctr")
    response = login(admin_user).get(
        url("catalog_formula_check"), {"formula": "clicks", "kpi": foreign.pk}
    )
    assert response.status_code == 404


def test_the_kpi_form_wires_the_live_check(login, admin_user, org):
    kpi = org.kpis.get(code="ctr")
    html = login(admin_user).get(url("catalog_kpi_edit", kpi.pk)).content.decode()
    assert f'hx-get="{url("catalog_formula_check")}?kpi={kpi.pk}"' in html
    assert 'hx-trigger="input changed delay:300ms"' in html
    assert 'data-insert-code="impressions"' in html


def test_a_code_in_use_is_shown_locked(login, admin_user, org, metric):
    html = login(admin_user).get(url("catalog_metric_edit", metric("clicks").pk)).content.decode()
    assert "Used by the formula of ctr, cpc: it cannot change." in html
    assert 'name="code" value="clicks"' in html and "disabled" in html


def test_a_locked_code_stays_even_if_posted(login, admin_user, org, metric):
    clicks = metric("clicks")
    response = login(admin_user).post(
        url("catalog_metric_edit", clicks.pk), metric_post(code="taps", label_en="Taps")
    )
    assert response.status_code == 302
    clicks.refresh_from_db()
    assert (clicks.code, clicks.label_en) == ("clicks", "Taps")


def test_admins_create_a_metric_with_import_headers(login, admin_user, org):
    response = login(admin_user).post(url("catalog_metric_create"), metric_post())
    assert response.status_code == 302
    metric = Metric.objects.get(organization=org, code="downloads")
    assert sorted(metric.aliases.values_list("alias", flat=True)) == ["DL", "Installs"]


def test_a_header_of_another_metric_is_reported_next_to_the_headers(login, admin_user, org):
    response = login(admin_user).post(url("catalog_metric_create"), metric_post(aliases="Impr."))
    html = response.content.decode()
    assert 'id="id_aliases_error"' in html
    assert not Metric.objects.filter(code="downloads").exists()


def test_deleting_a_used_metric_is_explained_not_done(login, admin_user, org, metric):
    client = login(admin_user)
    page = client.get(url("catalog_metric_delete", metric("spend").pk)).content.decode()
    assert "It cannot be deleted while something uses it" in page
    response = client.post(url("catalog_metric_delete", metric("spend").pk))
    assert response.status_code == 409
    assert org.metrics.filter(code="spend").exists()


def test_admins_delete_an_unused_kpi(login, admin_user, org):
    kpi = org.kpis.get(code="cpm")
    response = login(admin_user).post(url("catalog_kpi_delete", kpi.pk))
    assert response.status_code == 302
    assert not KPI.objects.filter(pk=kpi.pk).exists()


def test_another_organizations_kpi_is_404(login, admin_user, other_org):
    foreign = other_org.kpis.get(code="ctr")
    client = login(admin_user)
    assert client.get(url("catalog_kpi_edit", foreign.pk)).status_code == 404
    assert client.post(url("catalog_kpi_delete", foreign.pk)).status_code == 404
