"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

They fail, not skip, when chromium is missing: `make install` installs it.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import Client

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
# itself (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium).")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def make_page(browser, live_server):
    """make_page(username, password, language="en", width=1366, height=768) -> a logged-in page."""
    contexts = []

    def make(username=None, password=None, *, language="en", width=1366, height=768):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="fr-FR" if language == "fr" else "en-US",
            extra_http_headers={"Accept-Language": language},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        if username:
            # Logged in as the login page would (the same credentials checked), without
            # loading the page it redirects to: tests/browser/test_dashboards.py goes
            # through the login form itself.
            user = authenticate(username=username, password=password)
            assert user is not None, f"{username} cannot log in with that password"
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url,
                        "httpOnly": True,
                    }
                ]
            )
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path | None:
    """Save a screenshot under test-artifacts/ for a person to look at, when asked to
    (`make screenshots`, or SCREENSHOTS=1): a full-page capture costs about a second, and
    nobody looks at the ones a CI run would take. The checks around it always run."""
    if os.environ.get("SCREENSHOTS", "") in ("", "0"):
        return None
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
