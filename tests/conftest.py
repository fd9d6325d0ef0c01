"""Shared fixtures: a small organization with the standard catalog, and the four people
every permission test needs: an admin, an editor, a viewer of it, and an outsider."""

import os
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings

from campaigns.models import Campaign
from kpiboard.models import Role
from kpiboard.services import membership_set, organization_create

# One Playwright instance per test process, shared by every package that drives chromium.
pytest_plugins = ["tests.browser_fixtures"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The suite runs on PostgreSQL (make test sets DATABASE_URL): a test that needs the
    database fails loudly anywhere else, rather than passing on SQLite by accident."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql" and not os.environ.get("KPIBOARD_ALLOW_SQLITE"):
        pytest.fail(
            "Database tests run on PostgreSQL: set DATABASE_URL (make test does it).",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Django's default hasher spends ~0.4 s of CPU per password on purpose; tests create and
    log in people by the hundred. MD5 here only (Django's own advice for test suites)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with nothing cached (rendered pages, sessions): the local-memory cache
    lives as long as the test process."""
    from django.core.cache import caches

    for alias in settings.CACHES:
        caches[alias].clear()
    yield
    for alias in settings.CACHES:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request to a French organization's page
    activates French for the rest of the thread (a server's next request activates its own;
    a test's next form would not)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password="pw-" + username)


@pytest.fixture
def org(db):
    return organization_create(name="Acme", slug="acme", currency="EUR", language="en")


@pytest.fixture
def other_org(db):
    return organization_create(name="Other Co", slug="other", currency="CHF", language="fr")


@pytest.fixture
def admin_user(org):
    user = make_user("alice")
    membership_set(organization=org, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def editor(org):
    user = make_user("eddie")
    membership_set(organization=org, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def viewer(org):
    user = make_user("vera")
    membership_set(organization=org, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def outsider(other_org):
    user = make_user("oscar")
    membership_set(organization=other_org, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def campaign(org):
    return Campaign.objects.create(
        organization=org,
        name="Spring sale",
        channel="paid_search",
        market="France",
        start_date=date(2025, 1, 1),
        budget=Decimal("10000"),
    )


@pytest.fixture
def metric(org):
    return lambda code: org.metrics.get(code=code)
