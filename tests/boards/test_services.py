import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from boards import selectors, services
from boards.models import Board, ShareLink, Slide
from campaigns.models import Campaign
from tests.campaigns.conftest import make_objective

pytestmark = pytest.mark.django_db


def board_of(org, name="Monthly board"):
    return services.board_create(organization=org, name=name)


def kpi(org, code="conversion_rate"):
    return org.kpis.get(code=code)


def add(org, board, kind="kpi", **fields):
    if kind == "kpi":
        fields.setdefault("kpi", kpi(org))
    return services.slide_add(organization=org, board=board, kind=kind, **fields)


# Boards


def test_a_board_is_created_with_its_theme(org, admin_user):
    board = services.board_create(
        organization=org, name=" Wall TV ", theme="contrast", user=admin_user
    )
    assert (board.name, board.theme, board.created_by) == ("Wall TV", "contrast", admin_user)


def test_board_names_are_unique_in_an_organization_whatever_the_case(org, other_org):
    board_of(org, "Board")
    with pytest.raises(ValidationError) as error:
        board_of(org, "board")
    assert "name" in error.value.error_dict
    assert board_of(other_org, "Board").organization == other_org


def test_an_unknown_theme_is_refused(org):
    with pytest.raises(ValidationError):
        services.board_create(organization=org, name="B", theme="neon")


def test_updating_a_board_changes_its_name_and_theme(org):
    board = board_of(org)
    services.board_update(organization=org, board=board, name="TV", theme="light")
    board.refresh_from_db()
    assert (board.name, board.theme) == ("TV", "light")


def test_deleting_a_board_deletes_its_slides_and_links(org):
    board = board_of(org)
    add(org, board)
    services.share_link_create(organization=org, board=board)
    services.board_delete(organization=org, board=board)
    assert not Board.objects.exists()
    assert not Slide.objects.exists()
    assert not ShareLink.objects.exists()


# Slides


def test_slides_are_added_at_the_end(org):
    board = board_of(org)
    first = add(org, board)
    second = add(org, board, kind="tiles")
    third = add(org, board, kind="channels")
    assert [first.position, second.position, third.position] == [0, 1, 2]


@pytest.mark.parametrize(("kind", "field"), [("kpi", "kpi"), ("objective", "objective")])
def test_a_slide_needs_what_its_kind_shows(org, kind, field):
    board = board_of(org)
    with pytest.raises(ValidationError) as error:
        services.slide_add(organization=org, board=board, kind=kind)
    assert field in error.value.error_dict


def test_a_slide_refuses_another_organizations_kpi_objective_or_campaign(org, other_org):
    board = board_of(org)
    with pytest.raises(ValidationError) as error:
        add(org, board, kpi=kpi(other_org))
    assert "kpi" in error.value.error_dict
    objective = make_objective(other_org)
    with pytest.raises(ValidationError) as error:
        add(org, board, kind="objective", objective=objective)
    assert "objective" in error.value.error_dict
    campaign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="email", start_date="2025-01-01"
    )
    with pytest.raises(ValidationError) as error:
        add(org, board, kind="funnel", campaign=campaign)
    assert "campaign" in error.value.error_dict
    with pytest.raises(ValidationError) as error:
        add(org, board, kind="tiles", kpis=[kpi(org), kpi(other_org)])
    assert "kpis" in error.value.error_dict
    assert not Slide.objects.exists()


def test_a_wall_holds_at_most_eight_tiles(org):
    board = board_of(org)
    with pytest.raises(ValidationError) as error:
        add(org, board, kind="tiles", kpis=list(org.kpis.all()[:9]))
    assert "kpis" in error.value.error_dict
    slide = add(org, board, kind="tiles", kpis=list(org.kpis.all()[:8]))
    assert slide.kpis.count() == 8


@pytest.mark.parametrize("kind", ["funnel", "channels"])
def test_funnels_and_channels_compare_with_a_period_not_a_target(org, kind):
    with pytest.raises(ValidationError) as error:
        add(org, board_of(org), kind=kind, comparison="target")
    assert "comparison" in error.value.error_dict


def test_a_fixed_period_is_read_and_normalized(org):
    board = board_of(org)
    slide = add(org, board, period="fixed", period_key=" 2025-q2 ")
    assert slide.period_key == "2025-Q2"
    with pytest.raises(ValidationError) as error:
        add(org, board, period="fixed", period_key="spring")
    assert "period_key" in error.value.error_dict


def test_a_period_key_is_dropped_unless_the_period_is_fixed(org):
    slide = add(org, board_of(org), period="last_month", period_key="2025-01")
    assert slide.period_key == ""


@pytest.mark.parametrize("seconds", [4, 601])
def test_a_slide_lasts_between_5_and_600_seconds(org, seconds):
    with pytest.raises(ValidationError) as error:
        add(org, board_of(org), duration_seconds=seconds)
    assert "duration_seconds" in error.value.error_dict


def test_a_board_holds_at_most_30_slides(org):
    board = board_of(org)
    for _ in range(services.MAX_SLIDES):
        add(org, board)
    with pytest.raises(ValidationError):
        add(org, board)


def test_moving_a_slide_swaps_it_with_its_neighbour_and_stops_at_the_ends(org):
    board = board_of(org)
    a, _b, c = (add(org, board, title=t) for t in "abc")

    def order():
        return list(board.slides.values_list("title", flat=True))

    services.slide_move(organization=org, slide=c, offset=-1)
    assert order() == ["a", "c", "b"]
    services.slide_move(organization=org, slide=a, offset=-1)
    assert order() == ["a", "c", "b"]
    services.slide_move(organization=org, slide=a, offset=1)
    assert order() == ["c", "a", "b"]
    assert list(board.slides.values_list("position", flat=True)) == [0, 1, 2]


def test_removing_a_slide_closes_the_gap(org):
    board = board_of(org)
    _a, b, _c = (add(org, board, title=t) for t in "abc")
    services.slide_remove(organization=org, slide=b)
    assert list(board.slides.values_list("title", "position")) == [("a", 0), ("c", 1)]


def test_another_organization_cannot_move_or_remove_a_slide(org, other_org):
    slide = add(org, board_of(org))
    with pytest.raises(Board.DoesNotExist):
        services.slide_move(organization=other_org, slide=slide, offset=1)
    with pytest.raises(Board.DoesNotExist):
        services.slide_remove(organization=other_org, slide=slide)
    assert Slide.objects.filter(pk=slide.pk).exists()


def test_a_removed_kpi_leaves_its_slide_in_place(org):
    slide = add(org, board_of(org), kpi=kpi(org, "nps"))
    kpi(org, "nps").delete()
    slide.refresh_from_db()
    assert slide.kpi is None


# Share links


def test_a_share_link_token_is_random_long_and_only_its_hash_is_stored(org, admin_user):
    board = board_of(org)
    link, token = services.share_link_create(organization=org, board=board, user=admin_user)
    other, other_token = services.share_link_create(organization=org, board=board)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64: 256 bits
    assert token != other_token
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = ShareLink.objects.filter(pk=link.pk).values().get()
    assert token not in {str(v) for v in stored.values()}
    assert link.token_hint == token[-4:]
    assert selectors.share_link_for_token(token) == link
    assert selectors.share_link_for_token(other_token) == other


def test_a_token_that_does_not_match_opens_nothing(org):
    link, token = services.share_link_create(organization=org, board=board_of(org))
    assert selectors.share_link_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert selectors.share_link_for_token("") is None
    assert link.matches(token)
    assert not link.matches(token + "x")


def test_a_share_link_can_expire(org):
    board = board_of(org)
    soon = timezone.now() + timedelta(hours=1)
    link, _ = services.share_link_create(organization=org, board=board, expires_at=soon)
    assert link.status(timezone.now()) == "active"
    assert link.status(soon) == "expired"
    assert not link.is_valid(soon + timedelta(seconds=1))


def test_an_expiry_in_the_past_is_refused(org):
    with pytest.raises(ValidationError) as error:
        services.share_link_create(organization=org, board=board_of(org), expires_at=timezone.now())
    assert "expires_at" in error.value.error_dict


def test_a_naive_expiry_is_a_programming_error(org):
    with pytest.raises(ValueError):
        services.share_link_create(
            organization=org, board=board_of(org), expires_at=timezone.now().replace(tzinfo=None)
        )


def test_a_share_link_cannot_be_made_for_another_organizations_board(org, other_org):
    with pytest.raises(ValidationError):
        services.share_link_create(organization=org, board=board_of(other_org))
    assert not ShareLink.objects.exists()


def test_revoking_a_link_stops_it_at_once_and_twice_changes_nothing(org, admin_user):
    link, token = services.share_link_create(organization=org, board=board_of(org))
    revoked = services.share_link_revoke(organization=org, link=link, user=admin_user)
    assert revoked.status(timezone.now()) == "revoked"
    assert revoked.revoked_by == admin_user
    first = revoked.revoked_at
    again = services.share_link_revoke(organization=org, link=link)
    assert again.revoked_at == first
    assert selectors.share_link_for_token(token).is_valid(timezone.now()) is False


def test_another_organization_cannot_revoke_a_link(org, other_org):
    link, _ = services.share_link_create(organization=org, board=board_of(org))
    with pytest.raises(ShareLink.DoesNotExist):
        services.share_link_revoke(organization=other_org, link=link)
    link.refresh_from_db()
    assert link.revoked_at is None


def test_a_link_notes_when_a_screen_last_used_it_at_most_every_five_minutes(org):
    link, _ = services.share_link_create(organization=org, board=board_of(org))
    now = timezone.now()
    services.share_link_mark_used(link=link, now=now)
    services.share_link_mark_used(link=link, now=now + timedelta(minutes=2))
    link.refresh_from_db()
    assert link.last_used_at == now
    services.share_link_mark_used(link=link, now=now + timedelta(minutes=6))
    link.refresh_from_db()
    assert link.last_used_at == now + timedelta(minutes=6)
