"""A cell's history and the organization's activity page."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from imports.models import ImportBatch
from metrics.models import Source
from metrics.services import ValueWrite, entries_write, entry_set

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB = date(2025, 1, 1), date(2025, 2, 1)


def url(name, **query):
    path = reverse(name, kwargs={"org_slug": "acme"})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def write(org, campaign, metric, month, value, user=None, source=Source.FORM, batch=None):
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, metric.pk, month, None if value is None else D(value))],
        user=user,
        source=source,
        import_batch=batch,
    )


@pytest.fixture
def batch(org, admin_user):
    return ImportBatch.objects.create(
        organization=org, created_by=admin_user, filename="janvier.csv", sha256="0" * 64,
        status=ImportBatch.Status.APPLIED,
    )  # fmt: skip


@pytest.fixture
def newsletter(org):
    return Campaign.objects.create(
        organization=org, name="Newsletter", channel="email", start_date=JAN
    )


@pytest.fixture
def changes(org, campaign, newsletter, metric, editor, admin_user, batch):
    """Eddie types visitors twice, Alice imports a file, then Eddie empties the cell."""
    visitors = metric("visitors")
    entry_set(organization=org, campaign=campaign, metric=visitors, month=JAN,
              value=D("100"), expected_version=0, user=editor)  # fmt: skip
    entry_set(organization=org, campaign=campaign, metric=visitors, month=JAN,
              value=D("120"), expected_version=1, user=editor)  # fmt: skip
    write(org, campaign, visitors, JAN, "130", admin_user, Source.IMPORT, batch)
    write(org, newsletter, metric("emails_sent"), FEB, "5000", admin_user, Source.IMPORT, batch)
    write(org, campaign, visitors, JAN, None, editor)


def history(client, campaign, metric, month="2025-01", **headers):
    return client.get(
        url("data_history", campaign=campaign.pk, metric=metric.pk, month=month), **headers
    )


# ------------------------------------------------------------------------------ history


def test_a_cell_history_lists_every_change_newest_first(client, viewer, campaign, metric, changes):
    client.force_login(viewer)
    html = history(client, campaign, metric("visitors"), HTTP_HX_REQUEST="true").content.decode()

    assert html.strip().startswith('<section class="card history-card"')
    news = [html.index(v) for v in ('class="new">—', 'class="new">130', 'class="new">120',
                                    'class="new">100')]  # fmt: skip
    assert news == sorted(news)
    assert 'class="old">130' in html  # the deletion keeps what was there
    assert "janvier.csv" in html and "Import" in html and "Data entry" in html
    assert "eddie" in html and "alice" in html
    assert "no value now" in html


def test_the_history_page_works_without_javascript(client, viewer, campaign, metric, changes):
    client.force_login(viewer)
    response = history(client, campaign, metric("visitors"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<!doctype html>" in html and "Back to the grid of Spring sale" in html
    assert "data-history-close" not in html


def test_a_cell_never_changed_says_so(client, viewer, campaign, metric):
    client.force_login(viewer)
    html = history(client, campaign, metric("clicks"), HTTP_HX_REQUEST="true").content.decode()
    assert "No change recorded for this cell." in html


@pytest.mark.parametrize("month", ["2025-13", "janvier", ""])
def test_a_bad_month_is_not_found(client, viewer, campaign, metric, month):
    client.force_login(viewer)
    assert history(client, campaign, metric("clicks"), month=month).status_code == 404


def test_history_is_for_members_only(client, outsider, campaign, metric):
    assert history(client, campaign, metric("clicks")).status_code == 302
    client.force_login(outsider)
    assert history(client, campaign, metric("clicks")).status_code == 404


def test_a_metric_of_another_organization_is_not_found(client, viewer, campaign, other_org):
    client.force_login(viewer)
    theirs = other_org.metrics.get(code="visitors")
    assert history(client, campaign, theirs).status_code == 404


# ------------------------------------------------------------------------------ activity


def rows(html):
    return html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") if "<tbody>" in html else 0


def test_the_activity_page_lists_every_change_of_the_organization(
    client, viewer, changes, other_org
):
    theirs = Campaign.objects.create(
        organization=other_org, name="Secret", channel="seo", start_date=JAN
    )
    write(other_org, theirs, other_org.metrics.get(code="visitors"), JAN, "1")
    client.force_login(viewer)
    html = client.get(url("data_activity")).content.decode()

    assert rows(html) == 5
    assert "5 changes" in html
    assert "Secret" not in html
    assert "janvier.csv" in html and "Newsletter" in html
    assert 'aria-current="page">Activity' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"source": "import"}, 2),
        ({"source": "form"}, 3),
        ({"source": "api"}, 0),
    ],
)
def test_the_activity_filters_by_source(client, viewer, changes, query, expected):
    client.force_login(viewer)
    assert rows(client.get(url("data_activity", **query)).content.decode()) == expected


def test_the_activity_filters_by_person_and_campaign(
    client, viewer, changes, editor, admin_user, newsletter
):
    client.force_login(viewer)
    by_eddie = client.get(url("data_activity", person=editor.pk)).content.decode()
    by_alice_on_newsletter = client.get(
        url("data_activity", person=admin_user.pk, campaign=newsletter.pk)
    ).content.decode()

    assert rows(by_eddie) == 3
    assert rows(by_alice_on_newsletter) == 1
    assert f'<option value="{editor.pk}" selected>eddie</option>' in by_eddie


def test_the_activity_says_when_no_change_matches(client, viewer, changes):
    client.force_login(viewer)
    html = client.get(url("data_activity", source="api")).content.decode()
    assert "No change matches these filters." in html


def test_a_bad_filter_is_ignored_rather_than_an_error(client, viewer, changes):
    client.force_login(viewer)
    response = client.get(url("data_activity", person="x", campaign="999999", source="nope"))
    assert response.status_code == 200
    assert rows(response.content.decode()) == 5


def test_the_activity_is_paginated_keeping_its_filters(client, viewer, org, campaign):
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, m.pk, date(2025, month, 1), D(month))
            for m in org.metrics.all()[:5]
            for month in range(1, 13)
        ],
        user=None,
    )
    client.force_login(viewer)
    first = client.get(url("data_activity", source="form")).content.decode()
    second = client.get(url("data_activity", source="form", page=2)).content.decode()

    assert rows(first) == 50 and rows(second) == 10
    assert "?source=form&amp;page=2" in first
    assert "Page 2 of 2" in second


def test_the_activity_queries_do_not_grow_with_the_rows(
    client, viewer, org, campaign, django_assert_max_num_queries
):
    entries_write(
        organization=org,
        writes=[
            ValueWrite(campaign.pk, m.pk, date(2025, month, 1), D(month))
            for m in org.metrics.all()
            for month in range(1, 13)
        ],
        user=None,
    )
    client.force_login(viewer)
    with django_assert_max_num_queries(12):
        client.get(url("data_activity"))


@pytest.fixture
def imported(org, campaign, newsletter, admin_user):
    """Alice imports a file adding three values nobody changes afterwards."""
    import io

    from imports.services import ImportOptions, import_run

    data = b"Month,Campaign,Visitors,Clicks\n2025-01,Spring sale,100,10\n2025-02,Newsletter,50,\n"
    return import_run(
        organization=org,
        stream=io.BytesIO(data),
        filename="mars.csv",
        options=ImportOptions(),
        user=admin_user,
    ).batch


def test_the_activity_lists_the_values_an_import_added_with_the_other_changes(
    client, viewer, org, campaign, metric, editor, imported
):
    write(org, campaign, metric("leads"), JAN, "3", editor)
    client.force_login(viewer)
    html = client.get(url("data_activity")).content.decode()

    assert rows(html) == 4
    assert "4 changes" in html
    assert html.count("mars.csv") == 3 * 2  # the table cell and the narrow-screen summary
    table = html.split("<tbody>")[1]
    assert table.index("eddie") < table.index("alice")  # newest first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"source": "import"}, 3),
        ({"source": "form"}, 1),
        ({"person": "alice"}, 3),
        ({"person": "eddie"}, 1),
        ({"campaign": "newsletter"}, 1),
    ],
)
def test_the_activity_filters_the_values_an_import_added_too(
    client, viewer, org, campaign, newsletter, metric, editor, admin_user, imported, query, expected
):
    write(org, campaign, metric("leads"), JAN, "3", editor)
    people = {"alice": admin_user.pk, "eddie": editor.pk}
    query = {
        key: people.get(value, newsletter.pk if value == "newsletter" else value)
        for key, value in query.items()
    }
    client.force_login(viewer)
    assert rows(client.get(url("data_activity", **query)).content.decode()) == expected


def test_a_cell_history_shows_the_import_that_added_its_value(
    client, viewer, campaign, metric, imported
):
    client.force_login(viewer)
    html = history(client, campaign, metric("visitors"), HTTP_HX_REQUEST="true").content.decode()

    assert 'class="new">100' in html and 'class="old">—' in html
    assert "mars.csv" in html and "alice" in html
    assert "No change recorded" not in html


def test_the_activity_tells_an_imports_undo_from_the_import(
    client, viewer, org, campaign, metric, admin_user, imported
):
    from imports.services import import_undo

    import_undo(organization=org, batch=imported, user=admin_user)
    client.force_login(viewer)
    table = client.get(url("data_activity")).content.decode().split("<tbody>")[1]
    assert table.count("badge-source-undo") == 3 * 2  # each value it took back, both layouts
    assert table.count("Import undone") == 3 * 2 and "mars.csv" in table
    assert table.count('badge-source-import"') == 3 * 2  # the import's own rows stay


def test_a_change_nobody_made_by_hand_names_no_one(client, viewer, org, campaign, metric):
    write(org, campaign, metric("visitors"), JAN, "5", None, Source.DEMO)
    client.force_login(viewer)
    table = client.get(url("data_activity")).content.decode().split("<tbody>")[1]
    assert "Demo data" in table and "someone" not in table
    assert "<td>—</td>" in table
