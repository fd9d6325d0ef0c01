"""Board pages: members read and present, admins compose and share; others are refused."""

import zoneinfo

import pytest
from django.urls import URLPattern, get_resolver, reverse

from boards import services
from boards.models import Board, ShareLink, Slide

pytestmark = pytest.mark.django_db


def url(name, *args, org="acme"):
    return reverse(name, args=[org, *args])


@pytest.fixture
def board(org):
    board = services.board_create(organization=org, name="Monthly board")
    services.slide_add(
        organization=org, board=board, kind="kpi", kpi=org.kpis.get(code="conversion_rate")
    )
    services.slide_add(organization=org, board=board, kind="tiles")
    return board


@pytest.fixture
def their_board(other_org):
    return services.board_create(organization=other_org, name="Their board")


def slide_post(org, **fields):
    data = {
        "kind": "kpi",
        "kpi": org.kpis.get(code="cpa").pk,
        "period": "last_month",
        "period_key": "",
        "comparison": "target",
        "duration_seconds": "30",
        "title": "",
    }
    data.update(fields)
    return data


# The list


def test_members_see_the_boards_and_can_present_them(login, viewer, board):
    response = login(viewer).get(url("board_list"))
    assert response.status_code == 200
    assert b"Monthly board" in response.content
    assert url("board_present", board.pk).encode() in response.content
    assert url("board_create").encode() not in response.content


def test_admins_see_how_to_create_a_board(login, admin_user, board):
    response = login(admin_user).get(url("board_list"))
    assert url("board_create").encode() in response.content


def test_the_nav_links_to_the_boards(login, viewer, org):
    response = login(viewer).get(url("overview"))
    assert url("board_list").encode() in response.content


def test_anonymous_people_are_sent_to_log_in(client, board):
    response = client.get(url("board_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.get(url("board_present", board.pk))
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "name",
    ["board_list", "board_create", "board_detail", "board_edit", "board_delete", "board_present",
     "board_present_refresh"],
)  # fmt: skip
def test_outsiders_get_404_everywhere(login, outsider, board, name):
    args = [] if name in ("board_list", "board_create") else [board.pk]
    assert login(outsider).get(url(name, *args)).status_code == 404


@pytest.mark.parametrize("name", ["board_detail", "board_present", "board_edit"])
def test_another_organizations_board_is_not_found_under_this_one(
    login, admin_user, their_board, name
):
    assert login(admin_user).get(url(name, their_board.pk)).status_code == 404


# Composing: admins only


def test_an_admin_creates_a_board(login, admin_user, org):
    response = login(admin_user).post(url("board_create"), {"name": "Wall TV", "theme": "light"})
    board = Board.objects.get(organization=org, name="Wall TV")
    assert response.status_code == 302
    assert response["Location"] == url("board_detail", board.pk)
    assert board.theme == "light" and board.created_by == admin_user


def test_a_taken_name_is_said_next_to_the_field(login, admin_user, board):
    response = login(admin_user).post(
        url("board_create"), {"name": "monthly BOARD", "theme": "dark"}
    )
    assert response.status_code == 200
    assert "A board with this name already exists." in response.content.decode()


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_viewers_and_editors_cannot_compose(request, login, board, who):
    client = login(request.getfixturevalue(who))
    slide = board.slides.first()
    attempts = [
        ("get", url("board_create"), {}),
        ("post", url("board_create"), {"name": "X", "theme": "dark"}),
        ("post", url("board_edit", board.pk), {"name": "X", "theme": "dark"}),
        ("post", url("board_delete", board.pk), {}),
        ("post", url("board_slide_add", board.pk), {"kind": "tiles"}),
        ("post", url("board_slide_move", board.pk, slide.pk), {"direction": "down"}),
        ("post", url("board_slide_remove", board.pk, slide.pk), {}),
        ("post", url("board_link_create", board.pk), {"label": "TV"}),
    ]
    for method, address, data in attempts:
        assert getattr(client, method)(address, data).status_code == 403, address
    assert Board.objects.count() == 1
    assert board.slides.count() == 2
    assert not ShareLink.objects.exists()


def test_viewers_see_the_slides_without_the_composing_controls_or_links(login, viewer, board):
    services.share_link_create(organization=board.organization, board=board, label="Lobby TV")
    response = login(viewer).get(url("board_detail", board.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Conversion rate" in content
    assert url("board_slide_add", board.pk) not in content
    assert "Lobby TV" not in content
    assert url("board_present", board.pk) in content


def test_an_admin_sees_the_composing_controls_and_the_share_links(login, admin_user, board):
    services.share_link_create(organization=board.organization, board=board, label="Lobby TV")
    content = login(admin_user).get(url("board_detail", board.pk)).content.decode()
    assert url("board_slide_add", board.pk) in content
    assert "Lobby TV" in content
    assert url("board_link_create", board.pk) in content
    # A KPI slide needs its KPI, an objective slide its objective: neither is "optional".
    kpi_label = content.split('for="id_kpi"')[1].split("</label>")[0]
    objective_label = content.split('for="id_objective"')[1].split("</label>")[0]
    assert "optional" not in kpi_label and "optional" not in objective_label
    assert "optional" in content.split('for="id_title"')[1].split("</label>")[0]


def test_an_admin_renames_a_board_and_changes_its_theme(login, admin_user, board):
    response = login(admin_user).post(
        url("board_edit", board.pk), {"name": "Board meeting", "theme": "contrast"}
    )
    assert response.status_code == 302
    board.refresh_from_db()
    assert (board.name, board.theme) == ("Board meeting", "contrast")


def test_an_admin_deletes_a_board_after_confirming(login, admin_user, board):
    client = login(admin_user)
    services.share_link_create(organization=board.organization, board=board)
    confirm = client.get(url("board_delete", board.pk))
    assert "stops at its next refresh" in confirm.content.decode()
    assert client.post(url("board_delete", board.pk)).status_code == 302
    assert not Board.objects.exists()


def test_an_admin_adds_a_slide(login, admin_user, org, board):
    response = login(admin_user).post(url("board_slide_add", board.pk), slide_post(org))
    assert response.status_code == 302
    slide = board.slides.last()
    assert (slide.kind, slide.kpi.code, slide.comparison, slide.duration_seconds) == (
        "kpi", "cpa", "target", 30,
    )  # fmt: skip


def test_an_invalid_slide_is_explained_on_the_board_page(login, admin_user, org, board):
    response = login(admin_user).post(
        url("board_slide_add", board.pk), slide_post(org, kpi="", duration_seconds="2")
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Choose the KPI this slide shows." in content or "Ensure this value" in content
    assert board.slides.count() == 2


def test_a_slide_cannot_use_another_organizations_kpi(login, admin_user, org, other_org, board):
    response = login(admin_user).post(
        url("board_slide_add", board.pk), slide_post(org, kpi=other_org.kpis.get(code="cpa").pk)
    )
    assert response.status_code == 200
    assert board.slides.count() == 2


def test_an_admin_moves_and_removes_slides(login, admin_user, board):
    client = login(admin_user)
    first, second = board.slides.all()
    client.post(url("board_slide_move", board.pk, second.pk), {"direction": "up"})
    assert list(board.slides.values_list("pk", flat=True)) == [second.pk, first.pk]
    client.post(url("board_slide_remove", board.pk, second.pk))
    assert list(board.slides.values_list("pk", flat=True)) == [first.pk]


def test_a_slide_of_another_board_is_not_found(login, admin_user, org, board):
    other = services.board_create(organization=org, name="Other")
    slide = board.slides.first()
    client = login(admin_user)
    assert client.post(url("board_slide_remove", other.pk, slide.pk)).status_code == 404
    assert Slide.objects.filter(pk=slide.pk).exists()


# Share links


def test_an_admin_creates_a_share_link_and_sees_its_address_once(login, admin_user, board):
    client = login(admin_user)
    response = client.post(
        url("board_link_create", board.pk), {"label": "Lobby TV", "expires_on": ""}
    )
    content = response.content.decode()
    link = ShareLink.objects.get()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "Share link created" in content
    start = content.index("http://testserver/screen/")
    address = content[start : content.index('"', start)]
    token = address.removeprefix("http://testserver/screen/").rstrip("/")
    assert link.matches(token) and link.label == "Lobby TV" and link.expires_at is None
    again = client.get(url("board_detail", board.pk)).content.decode()
    assert token not in again
    assert "Lobby TV" in again


def test_a_share_link_expires_at_the_end_of_the_chosen_day(login, admin_user, org, board):
    login(admin_user).post(url("board_link_create", board.pk), {"expires_on": "2999-12-31"})
    link = ShareLink.objects.get()
    local = link.expires_at.astimezone(zoneinfo.ZoneInfo(org.time_zone))
    assert (local.year, local.month, local.day, local.hour) == (3000, 1, 1, 0)


def test_a_past_expiry_is_refused(login, admin_user, board):
    response = login(admin_user).post(
        url("board_link_create", board.pk), {"expires_on": "2000-01-01"}
    )
    assert "The expiry must be in the future." in response.content.decode()
    assert not ShareLink.objects.exists()


def test_share_links_of_another_organizations_board_are_not_found(
    login, admin_user, outsider, board, their_board
):
    theirs, _ = services.share_link_create(organization=their_board.organization, board=their_board)
    client = login(admin_user)
    assert client.post(url("board_link_create", their_board.pk), {}).status_code == 404
    assert client.post(url("board_link_revoke", their_board.pk, theirs.pk)).status_code == 404
    mine, _ = services.share_link_create(organization=board.organization, board=board)
    assert client.post(url("board_link_revoke", board.pk, theirs.pk)).status_code == 404
    outsider_client = login(outsider)
    assert outsider_client.post(url("board_link_revoke", board.pk, mine.pk)).status_code == 404
    assert (
        outsider_client.post(url("board_link_revoke", board.pk, mine.pk, org="other")).status_code
        == 404
    )
    assert not ShareLink.objects.filter(revoked_at__isnull=False).exists()


def test_an_admin_revokes_a_link(login, admin_user, viewer, board):
    link, _ = services.share_link_create(organization=board.organization, board=board)
    assert login(viewer).post(url("board_link_revoke", board.pk, link.pk)).status_code == 403
    response = login(admin_user).post(url("board_link_revoke", board.pk, link.pk))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == admin_user


# Present mode


def test_a_viewer_presents_a_board_full_screen(login, viewer, board):
    response = login(viewer).get(url("board_present", board.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="topbar"' not in content  # no navigation chrome
    assert url("board_present_refresh", board.pk) in content
    assert content.count('class="slide ') == 2
    assert "no-cache" in response["Cache-Control"]


def test_the_present_refresh_sends_the_slides_only(login, viewer, board):
    response = login(viewer).get(url("board_present_refresh", board.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert "data-board-data" in content
    assert content.count('class="slide ') == 2


def board_urls(board):
    """Every board URL of the organization, filled with this board and its first slide."""
    slide = board.slides.first()
    link, _token = services.share_link_create(organization=board.organization, board=board)
    args = {"board_id": board.pk, "slide_id": slide.pk, "link_id": link.pk}
    found = []
    for pattern in get_resolver("boards.urls").url_patterns:
        assert isinstance(pattern, URLPattern)
        keys = [
            k for k in ("board_id", "slide_id", "link_id") if f"<int:{k}>" in str(pattern.pattern)
        ]
        found.append(url(pattern.name, *[args[k] for k in keys]))
    return found


def test_every_board_url_is_404_for_outsiders_whatever_the_method(login, outsider, board):
    client = login(outsider)
    for address in board_urls(board):
        for method in (client.get, client.post):
            assert method(address).status_code == 404, (method.__name__, address)


def test_every_board_url_sends_anonymous_people_to_log_in(client, board):
    for address in board_urls(board):
        response = client.get(address)
        assert response.status_code == 302, address
        assert response["Location"].startswith(reverse("login")), address


def test_share_links_are_dated_in_the_organizations_time_zone(login, admin_user, org, board):
    from datetime import UTC, datetime

    org.time_zone = "America/New_York"
    org.save(update_fields=["time_zone"])
    link, _token = services.share_link_create(organization=org, board=board, label="Lobby TV")
    ShareLink.objects.filter(pk=link.pk).update(created_at=datetime(2026, 1, 15, 3, 30, tzinfo=UTC))
    content = login(admin_user).get(url("board_detail", board.pk)).content.decode()
    assert "14 Jan 2026, 22:30" in content  # 03:30 UTC is the evening before in New York
