# The browser fixtures live in tests/browser_fixtures.py, loaded once for the whole suite
# (one Playwright instance per process) by tests/conftest.py.
from tests.browser_fixtures import ARTIFACTS, CHROMIUM, screenshot  # noqa: F401
