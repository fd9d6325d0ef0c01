"""The import pages: history, upload, preview, apply, the applied import, undo.
Each with its denials: outsider 404, viewer 403 on writes, anonymous to the login page."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportBatch, ImportFile
from imports.services import import_undo
from metrics.models import MetricAlias, MetricEntry, StaleMark

from .conftest import FILES, run_file, values

pytestmark = pytest.mark.django_db

D = Decimal
GOOD = (
    b"Month,Campaign,Clicks,Impressions\n2025-01,Spring sale,20,1000\n2025-02,Spring sale,30,1500\n"
)
UNKNOWN_HEADER = b"Month,Campaign,Clicks,Likes\n2025-01,Spring sale,20,4\n"


def url(name, pk=None):
    kwargs = {"org_slug": "acme"}
    if pk is not None:
        kwargs["pk"] = pk
    return reverse(name, kwargs=kwargs)


def login(client, username):
    client.login(username=username, password="pw-" + username)
    return client


def upload(client, data=GOOD, name="metrics.csv", **extra):
    return client.post(
        url("import_upload"), {"file": SimpleUploadedFile(name, data, "text/csv"), **extra}, **{}
    )


@pytest.fixture
def pending(org, campaign, editor, client):
    login(client, "eddie")
    upload(client)
    client.logout()
    return ImportBatch.objects.get(organization=org, status="pending")


@pytest.fixture
def applied(org, campaign, editor):
    return run_file(org, GOOD, filename="applied.csv", user=editor).batch


# --- History -------------------------------------------------------------------------------


def test_the_history_lists_imports_for_viewers_too(client, viewer, applied, pending):
    response = login(client, "vera").get(url("import_list"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [applied]  # not the pending upload
    assert b"applied.csv" in response.content
    assert url("import_upload").encode() not in response.content  # no upload button


def test_the_history_names_people_as_every_page_does(client, org, editor, viewer, applied):
    editor.first_name, editor.last_name = "Eddie", "Martin"
    editor.save()
    content = login(client, "vera").get(url("import_list")).content.decode()
    assert "Eddie Martin" in content
    content = client.get(url("import_detail", applied.pk)).content.decode()
    assert "by Eddie Martin." in content


def test_editors_find_the_files_waiting_to_be_applied(client, editor, viewer, applied, pending):
    content = login(client, "eddie").get(url("import_list")).content.decode()
    waiting = content.split('id="pending-title"')[1].split("</section>")[0]
    assert url("import_preview", pending.pk) in waiting and "applied.csv" not in waiting
    client.logout()
    content = login(client, "vera").get(url("import_list")).content.decode()
    assert 'id="pending-title"' not in content  # a viewer sees what was applied only


def test_the_history_shows_the_upload_button_to_editors(client, editor):
    response = login(client, "eddie").get(url("import_list"))

    assert url("import_upload").encode() in response.content


def test_the_history_is_hidden_from_outsiders(client, outsider):
    assert login(client, "oscar").get(url("import_list")).status_code == 404


def test_the_history_requires_login(client, org):
    response = client.get(url("import_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_nav_links_imports_for_editors_only(client, editor, viewer):
    assert url("import_list").encode() in login(client, "eddie").get(url("overview")).content
    client.logout()
    assert url("import_list").encode() not in login(client, "vera").get(url("overview")).content


# --- Upload -------------------------------------------------------------------------------


def test_the_upload_page_shows_the_form(client, editor):
    response = login(client, "eddie").get(url("import_upload"))

    assert response.status_code == 200
    assert b'type="file"' in response.content


def test_uploading_keeps_the_file_and_opens_its_preview(client, org, editor, campaign):
    response = upload(login(client, "eddie"))

    batch = ImportBatch.objects.get(organization=org)
    assert response.status_code == 302
    assert response.url == url("import_preview", batch.pk)
    assert (batch.status, batch.filename, batch.created_by.username) == (
        "pending",
        "metrics.csv",
        "eddie",
    )
    assert (batch.encoding, batch.delimiter, batch.shape) == ("utf-8", ",", "wide")
    assert bytes(ImportFile.objects.get(batch=batch).data) == GOOD
    assert not MetricEntry.objects.exists()


def test_uploading_with_htmx_answers_the_preview_in_place(client, org, editor, campaign):
    login(client, "eddie")

    response = client.post(
        url("import_upload"),
        {"file": SimpleUploadedFile("metrics.csv", GOOD, "text/csv")},
        HTTP_HX_REQUEST="true",
    )

    batch = ImportBatch.objects.get(organization=org)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == url("import_preview", batch.pk)
    assert b'id="import-page"' in response.content
    assert b"<html" not in response.content


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", b"The file is empty."),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "report.csv", b"not a CSV or .xlsx"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_on_the_upload_page(
    client, org, editor, data, name, message
):
    response = upload(login(client, "eddie"), data, name)

    assert response.status_code == 200
    assert message in response.content
    assert not ImportBatch.objects.exists()


def test_a_file_over_the_limit_is_refused_on_the_upload_page(client, org, editor, settings):
    settings.IMPORT_MAX_BYTES = 50

    response = upload(login(client, "eddie"), GOOD)

    assert b"the limit is" in response.content
    assert not ImportBatch.objects.exists()


def test_viewers_cannot_upload(client, viewer):
    login(client, "vera")

    assert client.get(url("import_upload")).status_code == 403
    assert upload(client).status_code == 403
    assert not ImportBatch.objects.exists()


def test_outsiders_cannot_upload(client, outsider, org):
    login(client, "oscar")

    assert client.get(url("import_upload")).status_code == 404
    assert upload(client).status_code == 404


def test_upload_requires_login(client, org):
    assert client.get(url("import_upload")).url.startswith(reverse("login"))


# --- Preview ------------------------------------------------------------------------------


def test_the_preview_shows_the_file_and_what_will_change(client, editor, pending):
    response = login(client, "eddie").get(url("import_preview", pending.pk))

    assert response.status_code == 200
    check = response.context["check"]
    assert check.ok and (check.counts.created, check.counts.updated) == (4, 0)
    content = response.content.decode()
    assert "UTF-8" in content and "comma (,)" in content
    assert "Apply: write 4 values" in content
    assert url("import_apply", pending.pk) in content


def test_the_preview_says_when_the_same_file_was_imported_before_and_undone_since(
    client, org, editor, campaign, applied
):
    login(client, "eddie")
    upload(client)
    batch = ImportBatch.objects.get(organization=org, status="pending")
    content = client.get(url("import_preview", batch.pk)).content.decode()
    assert "This very file was already imported on" in content
    import_undo(organization=org, batch=applied, user=editor)
    content = client.get(url("import_preview", batch.pk)).content.decode()
    assert "then that import was undone on" in content
    assert "already imported" not in content


def test_the_preview_lists_every_problem_and_offers_no_apply(client, org, editor, campaign):
    login(client, "eddie")
    upload(client, UNKNOWN_HEADER)
    batch = ImportBatch.objects.get(organization=org)

    response = client.get(url("import_preview", batch.pk))

    content = response.content.decode()
    assert "Likes" in content and "is not a known metric" in content
    assert url("import_apply", batch.pk) not in content


def test_choosing_a_mapping_checks_again_in_place(client, org, editor, campaign):
    login(client, "eddie")
    upload(client, UNKNOWN_HEADER)
    batch = ImportBatch.objects.get(organization=org)

    response = client.post(
        url("import_preview", batch.pk),
        {"map:clicks": "clicks", "map:likes": "engagements"},
        HTTP_HX_REQUEST="true",
    )

    batch.refresh_from_db()
    assert batch.mapping == {"clicks": "clicks", "likes": "engagements"}
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert response.context["check"].ok


def test_choices_without_javascript_redirect_to_the_preview(client, org, editor, pending):
    response = login(client, "eddie").post(
        url("import_preview", pending.pk), {"map:clicks": "-", "map:impressions": "impressions"}
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.mapping == {"clicks": "", "impressions": "impressions"}


def test_choosing_to_create_the_campaigns(client, org, editor):
    login(client, "eddie")
    upload(client, b"Month,Campaign,Clicks\n2025-01,Autumn,3\n")
    batch = ImportBatch.objects.get(organization=org)
    assert "unknown_campaign" in [
        p.code for p in client.get(url("import_preview", batch.pk)).context["check"].problems
    ]

    response = client.post(
        url("import_preview", batch.pk),
        {"create_campaigns": "on", "new_campaign_channel": "email", "map:clicks": "clicks"},
        HTTP_HX_REQUEST="true",
    )

    assert response.context["check"].ok
    client.post(url("import_apply", batch.pk))
    assert values(org) == {("Autumn", "clicks", "2025-01"): D("3")}


def test_choosing_the_campaign_of_a_file_without_campaign_column(client, org, editor, campaign):
    login(client, "eddie")
    upload(client, b"Month,Clicks\n2025-01,3\n")
    batch = ImportBatch.objects.get(organization=org)

    response = client.post(
        url("import_preview", batch.pk), {"campaign": campaign.pk}, HTTP_HX_REQUEST="true"
    )

    assert response.context["check"].ok
    batch.refresh_from_db()
    assert batch.campaign == campaign


def test_viewers_cannot_see_or_change_a_preview(client, viewer, pending):
    login(client, "vera")

    assert client.get(url("import_preview", pending.pk)).status_code == 403
    assert client.post(url("import_preview", pending.pk), {"map:clicks": "-"}).status_code == 403


def test_outsiders_cannot_see_a_preview(client, outsider, pending):
    assert login(client, "oscar").get(url("import_preview", pending.pk)).status_code == 404


def test_another_organization_s_batch_is_not_found(client, outsider, other_org, pending):
    from kpiboard.models import Membership

    login(client, "oscar")
    path = reverse("import_preview", kwargs={"org_slug": "other", "pk": pending.pk})

    assert Membership.objects.filter(user__username="oscar", organization=other_org).exists()
    assert client.get(path).status_code == 404


def test_preview_requires_login(client, pending):
    assert client.get(url("import_preview", pending.pk)).url.startswith(reverse("login"))


# --- Apply, the applied import, its progress ----------------------------------------------


def test_applying_writes_everything_and_shows_the_import(
    client, org, editor, pending, django_capture_on_commit_callbacks
):
    login(client, "eddie")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("import_apply", pending.pk))

    pending.refresh_from_db()
    assert response.status_code == 302 and response.url == url("import_detail", pending.pk)
    assert (pending.status, pending.created_count) == ("applied", 4)
    assert not ImportFile.objects.filter(batch=pending).exists()
    assert len(values(org)) == 4
    page = client.get(url("import_detail", pending.pk))
    assert b"The KPIs are up to date" in page.content
    assert url("overview").encode() in page.content


def test_applying_twice_applies_once(client, org, editor, pending):
    login(client, "eddie")
    client.post(url("import_apply", pending.pk))

    response = client.post(url("import_apply", pending.pk))

    assert response.url == url("import_detail", pending.pk)
    assert MetricEntry.objects.count() == 4


def test_applying_a_file_with_problems_writes_nothing(client, org, editor, campaign):
    login(client, "eddie")
    upload(client, UNKNOWN_HEADER)
    batch = ImportBatch.objects.get(organization=org)

    response = client.post(url("import_apply", batch.pk), follow=True)

    batch.refresh_from_db()
    assert batch.status == "refused" and batch.error_count == 1
    assert not MetricEntry.objects.exists()
    assert b"nothing was written" in response.content
    # Still fixable: the mapping can be chosen and the file applied.
    client.post(url("import_preview", batch.pk), {"map:clicks": "clicks", "map:likes": "-"})
    client.post(url("import_apply", batch.pk))
    batch.refresh_from_db()
    assert batch.status == "applied"


def test_viewers_cannot_apply(client, viewer, pending):
    assert login(client, "vera").post(url("import_apply", pending.pk)).status_code == 403
    assert not MetricEntry.objects.exists()


def test_outsiders_cannot_apply(client, outsider, pending):
    assert login(client, "oscar").post(url("import_apply", pending.pk)).status_code == 404


def test_apply_requires_login_and_post(client, editor, pending):
    assert client.post(url("import_apply", pending.pk)).url.startswith(reverse("login"))
    assert login(client, "eddie").get(url("import_apply", pending.pk)).status_code == 405


def test_the_applied_import_follows_the_recompute_until_the_kpis_are_fresh(
    client, org, editor, applied, campaign
):
    StaleMark.objects.create(organization=org, campaign=campaign, month=date(2025, 1, 1))
    login(client, "eddie")

    page = client.get(url("import_detail", applied.pk))
    polled = client.get(url("import_progress", applied.pk), HTTP_HX_REQUEST="true")
    StaleMark.objects.all().delete()
    fresh = client.get(url("import_progress", applied.pk), HTTP_HX_REQUEST="true")

    assert (
        b"<progress" in page.content and url("import_progress", applied.pk).encode() in page.content
    )
    assert b'hx-trigger="load delay:1s"' in polled.content and b"<html" not in polled.content
    assert b"hx-get" not in fresh.content
    assert url("overview").encode() in fresh.content


def test_viewers_see_an_applied_import_without_undo(client, viewer, applied):
    response = login(client, "vera").get(url("import_detail", applied.pk))

    assert response.status_code == 200
    assert url("import_undo", applied.pk).encode() not in response.content


def test_the_applied_import_lists_the_values_it_replaced(client, org, editor, campaign, applied):
    run_file(org, GOOD.replace(b"20,1000", b"25,1000"), filename="fix.csv", user=editor)
    batch = ImportBatch.objects.get(filename="fix.csv")

    response = login(client, "eddie").get(url("import_detail", batch.pk))

    [change] = response.context["changes"]
    assert (change.old_value, change.new_value) == (D("20"), D("25"))
    assert b"the first" not in response.content  # all of them are listed


def test_the_applied_import_says_when_it_lists_only_the_first_values_it_replaced(
    client, org, editor, campaign, applied, monkeypatch
):
    run_file(org, GOOD.replace(b"20,1000", b"25,1001"), filename="fix.csv", user=editor)
    batch = ImportBatch.objects.get(filename="fix.csv")
    assert batch.updated_count == 2
    monkeypatch.setattr("imports.views.CHANGES_SHOWN", 1)
    response = login(client, "eddie").get(url("import_detail", batch.pk))
    assert len(response.context["changes"]) == 1
    assert "the first 1 of 2" in response.content.decode()


def test_a_pending_import_is_not_shown_to_viewers(client, viewer, pending):
    assert login(client, "vera").get(url("import_detail", pending.pk)).status_code == 404


def test_outsiders_cannot_see_an_import(client, outsider, applied):
    login(client, "oscar")

    assert client.get(url("import_detail", applied.pk)).status_code == 404
    assert client.get(url("import_progress", applied.pk), HTTP_HX_REQUEST="true").status_code == 404


def test_the_import_requires_login(client, applied):
    assert client.get(url("import_detail", applied.pk)).url.startswith(reverse("login"))
    assert client.get(url("import_progress", applied.pk)).url.startswith(reverse("login"))


# --- Undo ---------------------------------------------------------------------------------


def test_undo_asks_then_undoes(client, org, editor, applied):
    login(client, "eddie")

    confirm = client.get(url("import_undo", applied.pk))
    response = client.post(url("import_undo", applied.pk), follow=True)

    assert confirm.status_code == 200 and b"Undo this import?" in confirm.content
    applied.refresh_from_db()
    assert applied.status == "undone"
    assert values(org) == {}
    assert b"Import undone" in response.content


def test_viewers_cannot_undo(client, viewer, applied):
    login(client, "vera")

    assert client.get(url("import_undo", applied.pk)).status_code == 403
    assert client.post(url("import_undo", applied.pk)).status_code == 403
    applied.refresh_from_db()
    assert applied.status == "applied"


def test_outsiders_cannot_undo(client, outsider, applied):
    assert login(client, "oscar").post(url("import_undo", applied.pk)).status_code == 404


def test_undo_requires_login(client, applied):
    assert client.post(url("import_undo", applied.pk)).url.startswith(reverse("login"))


def test_the_french_sample_goes_through_the_pages(
    client, org, editor, django_capture_on_commit_callbacks
):
    login(client, "eddie")
    upload(client, (FILES / "boulangerie_fr_excel.csv").read_bytes(), "boulangerie.csv")
    batch = ImportBatch.objects.get(organization=org)
    client.post(
        url("import_preview", batch.pk),
        {"create_campaigns": "on", "new_campaign_channel": "organic_social"},
    )

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("import_apply", batch.pk))

    batch.refresh_from_db()
    assert (batch.status, batch.created_count) == ("applied", 441)
    assert not MetricAlias.objects.filter(normalized="taux de rebond info").exists()
