import pytest

pytestmark = pytest.mark.django_db


def test_login_page_in_english_and_french(client):
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    french = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Log in" in english.text
    assert "Connexion" in french.text
    assert '<html lang="fr">' in french.text


def test_logging_in_leads_to_the_organization(client, org, viewer):
    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera"},
                           follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/"


def test_a_wrong_password_is_refused_and_keeps_the_username(client, viewer):
    response = client.post("/accounts/login/", {"username": "vera", "password": "nope"})
    assert response.status_code == 200
    assert 'value="vera"' in response.text
    assert "enter a correct username and password" in response.text


def test_logout_is_a_post_and_ends_the_session(client, org, viewer):
    client.force_login(viewer)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get(f"/o/{org.slug}/").status_code == 302


def test_organization_language_applies_until_the_person_chooses(client, other_org, outsider):
    client.force_login(outsider)  # other_org speaks French
    assert '<html lang="fr">' in client.get(f"/o/{other_org.slug}/").text
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get(f"/o/{other_org.slug}/").text


def test_pages_carry_a_content_security_policy_without_eval(client, org, viewer):
    client.force_login(viewer)
    policy = client.get(f"/o/{org.slug}/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
