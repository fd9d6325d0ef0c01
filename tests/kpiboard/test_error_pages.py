"""Error pages: in the person's language, in the site's frame, with a way on."""

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_a_missing_object_is_a_page_of_the_organization_with_a_way_back(client, org, editor):
    client.force_login(editor)
    response = client.get(f"/o/{org.slug}/campaigns/999999/edit/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page
    assert f'href="/o/{org.slug}/"' in page and "Back to Acme" in page
    assert 'class="topbar"' in page  # the site's frame, not the server's bare text


def test_the_404_page_speaks_the_persons_language(client, org, editor):
    client.force_login(editor)
    client.cookies["django_language"] = "fr"
    page = client.get("/o/no-such-org/").content.decode()
    assert "Cette page n’existe pas" in page and "Retour à kpiboard" in page


def test_a_role_too_low_is_told_which_role_it_has(client, org, viewer):
    client.force_login(viewer)
    response = client.get(f"/o/{org.slug}/catalog/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your role does not allow this" in page and "You are Viewer here" in page


def test_an_expired_form_says_nothing_was_saved(org, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = client.post(f"/o/{org.slug}/campaigns/new/", {"name": "Lost"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


@override_settings(DEBUG=False)
def test_the_500_page_stands_alone_in_both_languages():
    page = render_to_string("500.html")  # no request, no database
    assert "Something went wrong on our side" in page and "Une erreur s’est produite" in page


def test_a_refused_member_reads_why_in_the_organizations_language(client, other_org, outsider):
    from kpiboard.models import Role
    from kpiboard.services import membership_set

    membership_set(organization=other_org, user=outsider, role=Role.VIEWER)  # a French one
    client.force_login(outsider)
    page = client.get(f"/o/{other_org.slug}/catalog/").content.decode()
    assert "Votre rôle ne le permet pas" in page and f'href="/o/{other_org.slug}/"' in page
