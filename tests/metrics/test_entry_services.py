"""Writes of the data-entry grid: one cell, a pasted block, a target; optimistic concurrency."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns.models import Campaign
from metrics.models import MetricEntry, Source, Target, ValueChange
from metrics.services import (
    CellWrite,
    Conflict,
    ValueWrite,
    entries_paste,
    entries_write,
    entry_set,
    target_set,
)

pytestmark = pytest.mark.django_db

D = Decimal
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)


def put(org, campaign, metric, month, value, user, version):
    return entry_set(
        organization=org,
        campaign=campaign,
        metric=metric,
        month=month,
        value=None if value is None else D(value),
        expected_version=version,
        user=user,
    )


def stored(campaign, metric, month=JAN):
    entry = MetricEntry.objects.filter(campaign=campaign, metric=metric, month=month).first()
    return entry.value if entry else None


def test_a_first_value_is_created_with_its_history(org, campaign, metric, editor):
    state = put(org, campaign, metric("visitors"), JAN, "1234.5", editor, 0)

    assert state.value == D("1234.5")
    assert state.version == 1
    assert state.updated_by == editor
    change = ValueChange.objects.get(campaign=campaign, metric=metric("visitors"), month=JAN)
    assert (change.old_value, change.new_value) == (None, D("1234.5"))
    assert change.changed_by == editor
    assert change.source == Source.FORM


def test_a_change_from_the_version_read_bumps_the_version(org, campaign, metric, editor):
    put(org, campaign, metric("visitors"), JAN, "10", editor, 0)
    state = put(org, campaign, metric("visitors"), JAN, "12", editor, 1)

    assert (state.value, state.version) == (D("12"), 2)
    olds = ValueChange.objects.filter(campaign=campaign).order_by("id")
    assert [(c.old_value, c.new_value) for c in olds] == [(None, D("10")), (D("10"), D("12"))]


def test_a_stale_version_is_refused_with_the_current_value_and_who_set_it(
    org, campaign, metric, editor, admin_user
):
    put(org, campaign, metric("visitors"), JAN, "10", admin_user, 0)
    put(org, campaign, metric("visitors"), JAN, "11", admin_user, 1)

    with pytest.raises(Conflict) as refused:
        put(org, campaign, metric("visitors"), JAN, "99", editor, 1)

    assert refused.value.value == D("11")
    assert refused.value.version == 2
    assert refused.value.updated_by == admin_user
    assert refused.value.updated_at is not None
    assert stored(campaign, metric("visitors")) == D("11")
    assert ValueChange.objects.filter(campaign=campaign).count() == 2


def test_typing_the_value_someone_just_saved_is_not_a_conflict(
    org, campaign, metric, editor, admin_user
):
    put(org, campaign, metric("visitors"), JAN, "10", admin_user, 0)

    state = put(org, campaign, metric("visitors"), JAN, "10.000", editor, 0)

    assert (state.value, state.version) == (D("10"), 1)
    assert ValueChange.objects.filter(campaign=campaign).count() == 1


def test_a_person_saving_the_same_cell_twice_quickly_does_not_conflict_with_themselves(
    org, campaign, metric, editor
):
    put(org, campaign, metric("visitors"), JAN, "10", editor, 0)
    # The second save left before the first one's answer came back: it still holds version 0.
    state = put(org, campaign, metric("visitors"), JAN, "12", editor, 0)

    assert state.value == D("12")


def test_an_import_in_between_is_a_conflict_even_for_the_same_person(org, campaign, metric, editor):
    put(org, campaign, metric("visitors"), JAN, "10", editor, 0)
    entries_write(
        organization=org,
        writes=[ValueWrite(campaign.pk, metric("visitors").pk, JAN, D("20"))],
        user=editor,
        source=Source.IMPORT,
    )

    with pytest.raises(Conflict):
        put(org, campaign, metric("visitors"), JAN, "12", editor, 1)


def test_an_empty_cell_deletes_the_value_and_the_history_says_so(org, campaign, metric, editor):
    put(org, campaign, metric("visitors"), JAN, "10", editor, 0)

    state = put(org, campaign, metric("visitors"), JAN, None, editor, 1)

    assert (state.value, state.version) == (None, 0)
    assert stored(campaign, metric("visitors")) is None
    last = ValueChange.objects.filter(campaign=campaign).latest("id")
    assert (last.old_value, last.new_value) == (D("10"), None)


def test_a_value_typed_again_after_a_deletion_does_not_reuse_an_old_version(
    org, campaign, metric, editor, admin_user
):
    put(org, campaign, metric("visitors"), JAN, "10", admin_user, 0)  # version 1, seen by eddie
    put(org, campaign, metric("visitors"), JAN, None, admin_user, 1)
    put(org, campaign, metric("visitors"), JAN, "30", admin_user, 0)

    with pytest.raises(Conflict) as refused:
        put(org, campaign, metric("visitors"), JAN, "15", editor, 1)

    assert refused.value.value == D("30")
    assert stored(campaign, metric("visitors")) == D("30")


@pytest.mark.parametrize("code", ["visitors", "spend", "orders"])
def test_a_count_or_an_amount_is_never_negative(org, campaign, metric, editor, code):
    with pytest.raises(ValidationError):
        put(org, campaign, metric(code), JAN, "-1", editor, 0)
    assert not MetricEntry.objects.exists()


def test_a_percent_metric_may_be_negative(org, campaign, editor):
    from metrics.services import metric_save

    growth = metric_save(
        organization=org,
        code="growth",
        label_fr="Croissance",
        label_en="Growth",
        kind="percent",
        rollup="last",
    )
    state = put(org, campaign, growth, JAN, "-2.5", editor, 0)
    assert state.value == D("-2.5")


def test_values_are_rounded_to_six_decimals_and_huge_ones_refused(org, campaign, metric, editor):
    state = put(org, campaign, metric("spend"), JAN, "12.12345678", editor, 0)
    assert state.value == D("12.123457")
    with pytest.raises(ValidationError):
        put(org, campaign, metric("spend"), FEB, "1E30", editor, 0)


def test_a_campaign_of_another_organization_is_refused(org, other_org, metric, editor):
    foreign = Campaign.objects.create(
        organization=other_org, name="Theirs", channel="seo", start_date=JAN
    )
    with pytest.raises(ValueError):
        put(org, foreign, metric("visitors"), JAN, "1", editor, 0)


def test_a_paste_saves_every_cell_as_one_change(org, campaign, metric, editor):
    visitors, clicks = metric("visitors"), metric("clicks")
    put(org, campaign, visitors, JAN, "5", editor, 0)

    result = entries_paste(
        organization=org,
        campaign=campaign,
        cells=[
            CellWrite(visitors.pk, JAN, D("1234.5"), 1),
            CellWrite(visitors.pk, FEB, D("2000"), 0),
            CellWrite(clicks.pk, JAN, D("40"), 0),
            CellWrite(clicks.pk, FEB, None, 0),
        ],
        user=editor,
    )

    assert (result.created, result.updated, result.unchanged) == (2, 1, 1)
    assert stored(campaign, visitors, JAN) == D("1234.5")
    assert stored(campaign, clicks, JAN) == D("40")
    assert ValueChange.objects.filter(campaign=campaign).count() == 4


def test_a_paste_over_a_value_changed_meanwhile_saves_nothing(
    org, campaign, metric, editor, admin_user
):
    visitors = metric("visitors")
    put(org, campaign, visitors, JAN, "5", admin_user, 0)
    put(org, campaign, visitors, JAN, "6", admin_user, 1)

    with pytest.raises(Conflict) as refused:
        entries_paste(
            organization=org,
            campaign=campaign,
            cells=[CellWrite(visitors.pk, JAN, D("7"), 1), CellWrite(visitors.pk, FEB, D("8"), 0)],
            user=editor,
        )

    assert [(c.metric_id, c.month, c.value) for c in refused.value.cells] == [
        (visitors.pk, JAN, D("6"))
    ]
    assert stored(campaign, visitors, FEB) is None


def test_a_paste_with_a_negative_count_saves_nothing(org, campaign, metric, editor):
    visitors = metric("visitors")
    with pytest.raises(ValidationError):
        entries_paste(
            organization=org,
            campaign=campaign,
            cells=[CellWrite(visitors.pk, JAN, D("7"), 0), CellWrite(visitors.pk, FEB, D("-8"), 0)],
            user=editor,
        )
    assert not MetricEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_an_empty_cell_at_once_one_is_refused(org, campaign, metric, editor):
    """Both read the cell empty (version 0): one save wins, the other gets the winner's
    value, never an error page nor a silent overwrite."""
    visitors = metric("visitors")
    barrier = threading.Barrier(2)
    outcomes = []

    def save(value):
        try:
            barrier.wait()
            put(org, campaign, visitors, MAR, value, editor if value == "1" else None, 0)
            outcomes.append(("saved", value))
        except Conflict as conflict:
            outcomes.append(("refused", conflict.value))
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(v,)) for v in ("1", "2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o[0] for o in outcomes) == ["refused", "saved"]
    winner = next(v for kind, v in outcomes if kind == "saved")
    loser_saw = next(v for kind, v in outcomes if kind == "refused")
    assert loser_saw == D(winner) == stored(campaign, visitors, MAR)


def kpi(org, code):
    return org.kpis.get(code=code)


def test_a_target_is_set_changed_and_removed(org, campaign):
    ctr = kpi(org, "ctr")
    assert target_set(
        organization=org, kpi=ctr, campaign=None, month=JAN, value=D("4.5"), expected=None
    ) == D("4.5")
    target_set(organization=org, kpi=ctr, campaign=None, month=JAN, value=D("5"), expected=D("4.5"))
    target_set(organization=org, kpi=ctr, campaign=campaign, month=JAN, value=D("6"), expected=None)
    assert Target.objects.get(kpi=ctr, campaign=None, month=JAN).value == D("5")
    assert Target.objects.get(kpi=ctr, campaign=campaign, month=JAN).value == D("6")

    target_set(organization=org, kpi=ctr, campaign=None, month=JAN, value=None, expected=D("5"))
    assert not Target.objects.filter(kpi=ctr, campaign=None).exists()


def test_a_target_changed_meanwhile_is_not_overwritten(org):
    ctr = kpi(org, "ctr")
    target_set(organization=org, kpi=ctr, campaign=None, month=JAN, value=D("4"), expected=None)

    with pytest.raises(Conflict) as refused:
        target_set(organization=org, kpi=ctr, campaign=None, month=JAN, value=D("9"), expected=None)

    assert refused.value.value == D("4")
    assert Target.objects.get(kpi=ctr, month=JAN).value == D("4")


def test_a_money_target_cannot_be_negative_but_a_rate_can(org):
    with pytest.raises(ValidationError):
        target_set(
            organization=org, kpi=kpi(org, "cpa"), campaign=None, month=JAN, value=D("-1"),
            expected=None,
        )  # fmt: skip
    assert target_set(
        organization=org, kpi=kpi(org, "roi"), campaign=None, month=JAN, value=D("-10"),
        expected=None,
    ) == D("-10")  # fmt: skip
