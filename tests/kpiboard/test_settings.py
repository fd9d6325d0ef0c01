import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    # A production environment: without the test-only switch the browser tests set.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
        env={**base, **env}, check=False,
    )  # fmt: skip


def test_deploy_check_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0",
                    SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="kpi.example.com")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "security.W" not in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="kpi.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_migrations_match_the_models():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout


def test_a_cache_url_chooses_the_cache_and_redis_also_keeps_the_sessions():
    show = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)"
    result = manage("shell", "-v", "0", "-c", show, CACHE_URL="redis://127.0.0.1:6379/3")
    assert result.stdout.split() == [
        "kpiboard.cache.RedisCache",
        "django.contrib.sessions.backends.cached_db",
    ], result.stderr
    result = manage("shell", "-v", "0", "-c", show, CACHE_URL="")
    # Memory of one process: sessions stay in the database (a log-out ends them everywhere).
    assert result.stdout.split() == [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.contrib.sessions.backends.db",
    ], result.stderr


def test_a_bad_cache_url_names_the_variable():
    result = manage("check", CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "CACHE_URL='memcached://127.0.0.1:11211' is not a cache URL" in result.stderr
