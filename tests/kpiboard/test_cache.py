"""The cache on Redis, as in production: one client per pool, pages rendered by one process
served by another, sessions read from it and ended everywhere at log-out. These tests need
Redis (TEST_BROKER_URL's server; `make test` starts it): they fail, never skip, without it."""

import os
import uuid

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kpiboard.cache import RedisCache

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def prefix():
    """Keys of this test only (the server is shared): removed afterwards."""
    name = f"kpiboard-test-{uuid.uuid4().hex}"
    yield name
    server = redis.Redis.from_url(REDIS_URL)
    for key in server.scan_iter(f"{name}:*"):
        server.delete(key)


@pytest.fixture
def on_redis(settings, prefix):
    settings.CACHES = {
        "default": {"BACKEND": "kpiboard.cache.RedisCache", "LOCATION": REDIS_URL,
                    "KEY_PREFIX": prefix},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                  "LOCATION": f"{prefix}-local"},
    }  # fmt: skip
    settings.CACHE_SHARED = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    return settings


def test_the_redis_cache_keeps_its_values_and_one_client(prefix):
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": prefix})
    cache.set("page", {"html": "<p>ok</p>"}, 60)
    assert cache.get("page") == {"html": "<p>ok</p>"}
    assert cache.get_many(["page", "none"]) == {"page": {"html": "<p>ok</p>"}}
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.delete("page")
    assert cache.get("page") is None


def test_a_page_rendered_by_one_process_is_served_by_another(on_redis, client, viewer, org):
    client.force_login(viewer)
    address = reverse("overview", args=["acme"])
    rendered = client.get(address).content.decode()
    caches["local"].clear()  # another process: nothing of its own in memory yet
    with CaptureQueriesContext(connection) as queries:
        served = client.get(address).content.decode()
    # The session comes from Redis too: the person with their memberships is the only query.
    assert len(queries.captured_queries) == 1, queries.captured_queries
    assert (
        served[served.index("<main") :].split("</main>")[0]
        == (rendered[rendered.index("<main") :].split("</main>")[0])
    )


def test_a_session_ended_at_log_out_is_ended_for_every_process(on_redis, client, viewer, org):
    client.force_login(viewer)
    address = reverse("overview", args=["acme"])
    assert client.get(address).status_code == 200
    cookie = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    client.cookies["sessionid"] = cookie  # someone replays the old session cookie
    response = client.get(address)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
