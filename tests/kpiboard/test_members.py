import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from kpiboard.models import Membership, Role
from kpiboard.services import member_add, member_remove, member_role_change

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(name, args=["acme", *args])


def make_user(username, email=""):
    return get_user_model().objects.create_user(
        username=username, email=email, password="pw-" + username
    )


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


def membership(org, user):
    return Membership.objects.get(organization=org, user=user)


# Services


def test_someone_is_added_by_username(org):
    make_user("Paula")
    assert member_add(organization=org, identifier=" paula ", role="editor").role == "editor"


def test_someone_is_added_by_email_whatever_the_case(org):
    paula = make_user("paula", "paula@example.com")
    assert member_add(organization=org, identifier="Paula@Example.com", role="viewer").user == paula


def test_an_unknown_person_is_a_clear_error(org):
    with pytest.raises(ValidationError) as error:
        member_add(organization=org, identifier="nobody@example.com", role="viewer")
    assert error.value.message_dict["identifier"] == [
        "No account has this username or e-mail address."
    ]


def test_an_email_shared_by_two_accounts_asks_for_the_username(org):
    make_user("p1", "shared@example.com")
    make_user("p2", "shared@example.com")
    with pytest.raises(ValidationError) as error:
        member_add(organization=org, identifier="shared@example.com", role="viewer")
    assert "username" in error.value.message_dict["identifier"][0]


def test_a_member_is_not_added_twice(org, editor):
    with pytest.raises(ValidationError):
        member_add(organization=org, identifier="eddie", role="admin")
    assert membership(org, editor).role == "editor"


def test_the_last_admin_cannot_be_demoted(org, admin_user):
    with pytest.raises(ValidationError) as error:
        member_role_change(
            organization=org, membership=membership(org, admin_user), role=Role.EDITOR
        )
    assert error.value.code == "last_admin"
    assert membership(org, admin_user).role == "admin"


def test_an_admin_can_be_demoted_when_another_admin_remains(org, admin_user, editor):
    member_role_change(organization=org, membership=membership(org, editor), role=Role.ADMIN)
    member_role_change(organization=org, membership=membership(org, admin_user), role=Role.VIEWER)
    assert membership(org, admin_user).role == "viewer"


def test_the_last_admin_cannot_be_removed(org, admin_user):
    with pytest.raises(ValidationError):
        member_remove(organization=org, membership=membership(org, admin_user))
    assert Membership.objects.filter(organization=org, user=admin_user).exists()


def test_removing_a_member_keeps_their_account(org, editor):
    member_remove(organization=org, membership=membership(org, editor))
    assert not Membership.objects.filter(organization=org, user=editor).exists()
    assert get_user_model().objects.filter(pk=editor.pk).exists()


def test_another_organizations_membership_is_out_of_reach(org, other_org, outsider):
    with pytest.raises(Membership.DoesNotExist):
        member_remove(organization=org, membership=membership(other_org, outsider))


# Views


def member_urls(org, target):
    m = membership(org, target)
    return [
        ("get", url("members")),
        ("post", url("member_add")),
        ("post", url("member_role", m.pk)),
        ("get", url("member_remove", m.pk)),
        ("post", url("member_remove", m.pk)),
    ]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_manage_members(request, login, org, admin_user, role):
    client = login(request.getfixturevalue(role))
    for method, target in member_urls(org, admin_user):
        assert getattr(client, method)(target).status_code == 403, (method, target)
    assert membership(org, admin_user).role == "admin"


def test_outsiders_get_404_on_the_members_pages(login, org, admin_user, outsider):
    client = login(outsider)
    for method, target in member_urls(org, admin_user):
        assert getattr(client, method)(target).status_code == 404, (method, target)


def test_anonymous_people_are_sent_to_log_in_from_the_members_pages(client, org, admin_user):
    for method, target in member_urls(org, admin_user):
        response = getattr(client, method)(target)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_admins_see_members_and_their_roles(login, admin_user, editor, viewer):
    html = login(admin_user).get(url("members")).content.decode()
    for name in ("alice", "eddie", "vera"):
        assert name in html
    assert "The last admin" in html


def test_admins_add_a_member(login, admin_user, org):
    paula = make_user("paula", "paula@example.com")
    response = login(admin_user).post(
        url("member_add"), {"identifier": "paula@example.com", "role": "editor"}
    )
    assert response.status_code == 302
    assert membership(org, paula).role == "editor"


def test_adding_an_unknown_person_keeps_what_was_typed(login, admin_user, org):
    response = login(admin_user).post(
        url("member_add"), {"identifier": "ghost@example.com", "role": "editor"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'value="ghost@example.com"' in html
    assert 'id="id_identifier_error"' in html
    assert "No account has this username or e-mail address." in html


def test_admins_change_a_role(login, admin_user, editor, org):
    m = membership(org, editor)
    response = login(admin_user).post(url("member_role", m.pk), {f"m{m.pk}-role": "viewer"})
    assert response.status_code == 302
    assert membership(org, editor).role == "viewer"


def test_demoting_the_last_admin_is_refused_with_a_message(login, admin_user, org):
    m = membership(org, admin_user)
    client = login(admin_user)
    response = client.post(url("member_role", m.pk), {f"m{m.pk}-role": "viewer"}, follow=True)
    assert "last admin" in response.content.decode()
    assert membership(org, admin_user).role == "admin"


def test_admins_remove_a_member_after_confirming(login, admin_user, editor, org):
    m = membership(org, editor)
    client = login(admin_user)
    assert b"Remove eddie from Acme?" in client.get(url("member_remove", m.pk)).content
    assert client.post(url("member_remove", m.pk)).status_code == 302
    assert not Membership.objects.filter(pk=m.pk).exists()


def test_removing_the_last_admin_is_refused(login, admin_user, org):
    m = membership(org, admin_user)
    client = login(admin_user)
    assert b"last admin" in client.get(url("member_remove", m.pk)).content
    assert client.post(url("member_remove", m.pk)).status_code == 409
    assert Membership.objects.filter(pk=m.pk).exists()


def test_another_organizations_member_is_404(login, admin_user, other_org, outsider):
    m = membership(other_org, outsider)
    client = login(admin_user)
    assert client.post(url("member_remove", m.pk)).status_code == 404
    assert client.post(url("member_role", m.pk), {f"m{m.pk}-role": "viewer"}).status_code == 404


def test_an_admin_who_steps_down_lands_on_the_overview(login, admin_user, editor, org):
    member_role_change(organization=org, membership=membership(org, editor), role=Role.ADMIN)
    m = membership(org, admin_user)
    response = login(admin_user).post(url("member_role", m.pk), {f"m{m.pk}-role": "editor"})
    assert response.status_code == 302
    assert response.url == url("overview")
    assert membership(org, admin_user).role == "editor"
