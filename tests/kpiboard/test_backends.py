"""The authentication backend reads the person with their memberships, their organizations
and those's data versions, in one query. It is the only backend."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.urls import reverse

from kpiboard.backends import MembershipsBackend
from kpiboard.data_version import data_version, organization_data_changed
from kpiboard.models import Role
from kpiboard.services import membership_set, organization_create
from kpiboard.tenancy import user_memberships
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_the_person_comes_with_their_memberships_in_one_query(
    viewer, org, django_assert_num_queries
):
    zeta = organization_create(name="Zeta", slug="zeta", language="en")
    beta = organization_create(name="Beta", slug="beta", language="en")
    membership_set(organization=zeta, user=viewer, role=Role.ADMIN)
    membership_set(organization=beta, user=viewer, role=Role.EDITOR)
    organization_data_changed(organization_id=beta.pk)
    organization_data_changed(organization_id=beta.pk)
    with django_assert_num_queries(1):
        user = MembershipsBackend().get_user(viewer.pk)
        memberships = user_memberships(user)
        seen = [(m.organization.name, m.role, data_version(m.organization)) for m in memberships]
        assert all(m.user is user for m in memberships)
    assert user == viewer
    assert seen == [("Acme", "viewer", 0), ("Beta", "editor", 2), ("Zeta", "admin", 0)]


def test_someone_with_no_organization_is_read_too(client, db):
    alone = make_user("alone")
    user = MembershipsBackend().get_user(alone.pk)
    assert user == alone and user_memberships(user) == []
    client.force_login(alone)
    assert "not a member of any organization" in client.get(reverse("home")).text


def test_an_unknown_or_deactivated_person_is_nobody(viewer):
    assert MembershipsBackend().get_user(viewer.pk + 1000) is None
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    assert MembershipsBackend().get_user(viewer.pk) is None


def test_a_person_logs_in_with_a_password_through_it(client, viewer, org):
    response = client.post(reverse("login"), {"username": "vera", "password": "pw-vera"})
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == "kpiboard.backends.MembershipsBackend"
    assert client.get(reverse("overview", args=["acme"])).status_code == 200


def test_a_session_opened_through_another_backend_logs_in_again(client, viewer, org):
    session = client.session
    session[SESSION_KEY] = str(viewer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = viewer.get_session_auth_hash()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    response = client.get(reverse("overview", args=["acme"]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_wrong_password_is_checked_once(client, viewer, monkeypatch):
    checks = []
    original = type(viewer).check_password
    monkeypatch.setattr(
        type(viewer), "check_password", lambda self, raw: checks.append(raw) or original(self, raw)
    )
    response = client.post(reverse("login"), {"username": "vera", "password": "wrong"})
    assert response.status_code == 200
    assert checks == ["wrong"]
