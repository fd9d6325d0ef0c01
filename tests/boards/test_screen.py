"""The screen a share link opens: no login, no cookie, one board, nothing else."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from boards import services
from boards.models import ShareLink

from .conftest import full_board

pytestmark = pytest.mark.django_db

INVALID = "This screen link is no longer valid"


@pytest.fixture
def board(org):
    board = services.board_create(organization=org, name="Wall TV")
    services.slide_add(
        organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="conversion_rate")
    )
    services.slide_add(organization=org, board=board, kind="tiles")
    return board


@pytest.fixture
def link(org, board):
    return services.share_link_create(organization=org, board=board, label="Lobby")


def screen(token):
    return reverse("board_screen", args=[token])


def refresh(token):
    return reverse("board_screen_refresh", args=[token])


def test_a_share_link_opens_its_board_without_logging_in(client, link):
    _link, token = link
    response = client.get(screen(token))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Wall TV" in content
    assert "Conversion rate" in content
    assert refresh(token) in content


def test_the_screen_sets_no_cookie_and_starts_no_session(client, link):
    _link, token = link
    sessions = Session.objects.count()
    for address in (screen(token), refresh(token)):
        response = client.get(address)
        assert response.status_code == 200
        assert not response.cookies, address
    assert Session.objects.count() == sessions
    assert "csrfmiddlewaretoken" not in client.get(screen(token)).content.decode()


def test_the_screen_links_to_nothing_else(client, link):
    _link, token = link
    content = client.get(screen(token)).content.decode()
    assert "<a " not in content
    assert "<form" not in content
    addresses = re.findall(r'(?:href|src|hx-get|action)="([^"]*)"', content)
    assert addresses
    for address in addresses:
        assert address.startswith("/static/") or address in (refresh(token),), address
    assert "/o/acme" not in content


def test_the_screen_is_not_cached_not_indexed_and_leaks_no_referrer(client, link):
    _link, token = link
    response = client.get(screen(token))
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_refresh_sends_the_slides_only(client, link):
    _link, token = link
    content = client.get(refresh(token)).content.decode()
    assert "<html" not in content
    assert "data-board-data" in content
    assert content.count('class="slide ') == 2


def test_a_link_opens_nothing_but_its_screen(client, link, board, org):
    _link, token = link
    client.get(screen(token))
    for address in (
        reverse("board_list", args=["acme"]),
        reverse("board_present", args=["acme", board.pk]),
        reverse("board_present_refresh", args=["acme", board.pk]),
        reverse("overview", args=["acme"]),
        reverse("home"),
    ):
        response = client.get(address, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse("login"))
    assert client.get(screen(token) + "slides/").status_code == 404


def test_a_screen_only_reads(client, link):
    _link, token = link
    assert client.post(screen(token)).status_code == 405
    assert client.post(refresh(token)).status_code == 405


def test_a_link_shows_only_its_own_board(client, org, board):
    other = services.board_create(organization=org, name="Secret plans")
    _link, token = services.share_link_create(organization=org, board=board)
    content = client.get(screen(token)).content.decode()
    assert "Wall TV" in content and "Secret plans" not in content
    _other_link, other_token = services.share_link_create(organization=org, board=other)
    assert "Secret plans" in client.get(screen(other_token)).content.decode()


def test_a_revoked_link_ends_on_the_invalid_page(client, org, link):
    share, token = link
    services.share_link_revoke(organization=org, link=share)
    for address in (screen(token), refresh(token)):
        response = client.get(address)
        assert response.status_code == 410
        content = response.content.decode()
        assert INVALID in content
        assert "Wall TV" not in content and "<a " not in content


def test_an_expired_link_ends_on_the_invalid_page(client, org, board):
    share, token = services.share_link_create(
        organization=org, board=board, expires_at=timezone.now() + timedelta(hours=1)
    )
    ShareLink.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(screen(token))
    assert response.status_code == 410
    assert INVALID in response.content.decode()


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 200, "not a token"])
def test_an_unknown_token_ends_on_the_invalid_page(client, board, token):
    response = client.get(screen(token))
    assert response.status_code == 404
    assert INVALID in response.content.decode()
    assert not response.cookies


def test_the_link_of_a_deleted_board_is_no_longer_valid(client, org, board, link):
    _share, token = link
    services.board_delete(organization=org, board=board)
    assert client.get(refresh(token)).status_code == 404


def test_the_screen_speaks_the_organizations_language(client, org, link):
    org.language = "fr"
    org.save()
    _share, token = link
    content = client.get(screen(token), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="fr"' in content
    services.share_link_revoke(organization=org, link=_share)
    content = client.get(screen(token), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="fr"' in content


def test_the_drawings_keep_a_decimal_point_in_french(client, org):
    org.language = "fr"
    org.save()
    board = full_board(org)
    _share, token = services.share_link_create(organization=org, board=board)
    content = client.get(screen(token)).content.decode()
    assert "Taux de conversion" in content
    dots = re.findall(r'class="spark-dot" d="([^"]*)"', content)
    assert dots and all(re.fullmatch(r"M[0-9.]+ [0-9.]+h0", d) for d in dots), dots
    points = re.findall(r'<polyline points="([^"]*)"', content)
    assert points and all(re.fullmatch(r"[0-9.,]+( [0-9.,]+)*", p) for p in points)


def test_a_screen_notes_when_it_was_last_used(client, link):
    share, token = link
    client.get(refresh(token))
    share.refresh_from_db()
    assert share.last_used_at is not None


# Rate limits


@pytest.fixture(autouse=True)
def one_rate_window(monkeypatch):
    """Keep the limiter's clock inside one fixed window, so that no count is reset midway."""
    monkeypatch.setattr("boards.ratelimit.time", SimpleNamespace(time=lambda: 1_800_000_030.0))


def test_requests_by_token_are_rate_limited(client, settings, link):
    settings.BOARD_SCREEN_RATE_PER_TOKEN = (3, 60)
    _share, token = link
    assert [client.get(refresh(token)).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(refresh(token))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Cache-Control"] == "no-store"


def test_requests_by_client_are_rate_limited_whatever_the_token(client, settings, org, board):
    settings.BOARD_SCREEN_RATE_PER_IP = (4, 60)
    _share, token = services.share_link_create(organization=org, board=board)
    guesses = [client.get(screen(f"{'g' * 40}{i:03d}")).status_code for i in range(4)]
    assert guesses == [404] * 4
    assert client.get(screen(token)).status_code == 429
    assert client.get(screen(token), REMOTE_ADDR="10.0.0.9").status_code == 200


def test_one_screen_over_its_limit_does_not_stop_another(client, settings, org, board):
    settings.BOARD_SCREEN_RATE_PER_TOKEN = (2, 60)
    _a, token_a = services.share_link_create(organization=org, board=board)
    _b, token_b = services.share_link_create(organization=org, board=board)
    for _ in range(3):
        client.get(refresh(token_a))
    assert client.get(refresh(token_a)).status_code == 429
    assert client.get(refresh(token_b)).status_code == 200


# Cost


def test_the_screen_costs_a_fixed_number_of_queries_per_slide(client, org):
    board = full_board(org)
    _share, token = services.share_link_create(organization=org, board=board)
    with CaptureQueriesContext(connection) as six:
        assert client.get(refresh(token)).status_code == 200
    for slide in list(board.slides.all()):
        services.slide_add(
            organization=org, board=board, kind=slide.kind, kpi=slide.kpi,
            objective=slide.objective, campaign=slide.campaign, period=slide.period,
            comparison=slide.comparison,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as twelve:
        assert client.get(refresh(token)).status_code == 200
    # The board's own reads are shared; each slide adds its own few.
    assert len(twelve) - len(six) <= len(six)
    assert len(six) <= 40
