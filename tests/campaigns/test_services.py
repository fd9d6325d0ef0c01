from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.models import Campaign, Objective
from kpiboard.concurrency import fingerprint
from metrics.models import MetricEntry, StaleMark

from .conftest import make_campaign, make_objective, put_values

pytestmark = pytest.mark.django_db


def save_campaign(org, campaign=None, **fields):
    values = {
        "name": "Summer push",
        "channel": "paid_social",
        "market": "Romandie",
        "start_date": date(2025, 6, 1),
        "end_date": date(2025, 8, 31),
        "budget": Decimal("12000.50"),
    }
    values.update(fields)
    return services.campaign_save(organization=org, campaign=campaign, **values)


def full_rebuild_marks(org):
    return StaleMark.objects.filter(organization=org, campaign=None, kpi=None).count()


def test_campaign_save_creates_a_campaign_serving_objectives(org):
    objective = make_objective(org)
    campaign = save_campaign(org, market=" Romandie ", objectives=[objective])
    campaign.refresh_from_db()
    assert campaign.market == "Romandie"
    assert campaign.budget == Decimal("12000.50")
    assert list(campaign.objectives.all()) == [objective]


def test_campaign_names_are_unique_whatever_the_case(org, campaign):
    with pytest.raises(ValidationError) as error:
        save_campaign(org, name="SPRING SALE")
    assert "name" in error.value.message_dict


def test_the_same_name_in_another_organization_is_fine(org, other_org, campaign):
    assert save_campaign(other_org, name="Spring sale").organization == other_org


def test_a_campaign_cannot_end_before_it_starts(org):
    with pytest.raises(ValidationError) as error:
        save_campaign(org, start_date=date(2025, 6, 1), end_date=date(2025, 5, 31))
    assert "end_date" in error.value.message_dict


def test_changing_the_channel_marks_every_kpi_for_recompute(org, campaign):
    save_campaign(org, campaign=campaign, name=campaign.name, channel="display")
    assert full_rebuild_marks(org) == 1


def test_an_edit_keeping_the_channel_recomputes_nothing(org, campaign):
    save_campaign(org, campaign=campaign, name=campaign.name, channel=campaign.channel)
    assert full_rebuild_marks(org) == 0


def test_a_new_campaign_recomputes_nothing(org):
    save_campaign(org)
    assert full_rebuild_marks(org) == 0


def test_deleting_a_campaign_deletes_its_values_and_recomputes_totals(org, campaign):
    put_values(org, campaign, {"visitors": {date(2025, 1, 1): "100"}})
    services.campaign_delete(organization=org, campaign=campaign)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()
    assert not MetricEntry.objects.filter(organization=org).exists()
    assert full_rebuild_marks(org) == 1


def test_an_edit_made_meanwhile_by_someone_else_is_not_overwritten(org, campaign):
    shown = fingerprint(campaign, services.CAMPAIGN_FIELDS)
    Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("999"))
    with pytest.raises(ValidationError) as error:
        save_campaign(org, campaign=campaign, name="Mine", expected_fingerprint=shown)
    assert error.value.error_list[0].code == "conflict"
    campaign.refresh_from_db()
    assert campaign.name == "Spring sale"


def test_an_edit_of_the_row_as_shown_goes_through(org, campaign):
    shown = fingerprint(campaign, services.CAMPAIGN_FIELDS)
    saved = save_campaign(org, campaign=campaign, name="Mine", expected_fingerprint=shown)
    assert saved.name == "Mine"


def test_objectives_of_another_organization_are_refused(org, other_org):
    foreign = make_objective(other_org)
    with pytest.raises(ValidationError):
        save_campaign(org, objectives=[foreign])


def test_a_campaign_of_another_organization_cannot_be_edited(org, other_org):
    foreign = make_campaign(other_org)
    with pytest.raises(Campaign.DoesNotExist):
        save_campaign(org, campaign=foreign)


# Objectives


def save_objective(org, objective=None, **fields):
    values = {
        "title": "Raise online sales by 20 %",
        "kpi": org.kpis.get(code="conversion_rate"),
        "category": "conversion",
        "baseline_value": Decimal("4.1"),
        "baseline_start": date(2024, 10, 15),
        "baseline_end": date(2024, 12, 31),
        "target_kind": "relative",
        "target_value": Decimal("20"),
        "start_date": date(2025, 1, 1),
        "deadline": date(2025, 3, 31),
    }
    values.update(fields)
    return services.objective_save(organization=org, objective=objective, **values)


def test_objective_save_stores_the_baseline_period_as_months(org, editor, campaign):
    objective = save_objective(org, owner=editor, campaigns=[campaign])
    objective.refresh_from_db()
    assert (objective.baseline_start, objective.baseline_end) == (
        date(2024, 10, 1),
        date(2024, 12, 1),
    )
    assert objective.target_absolute == Decimal("4.92")
    assert objective.owner == editor
    assert list(objective.campaigns.all()) == [campaign]


def test_an_objective_cannot_measure_another_organizations_kpi(org, other_org):
    with pytest.raises(ValidationError) as error:
        save_objective(org, kpi=other_org.kpis.get(code="conversion_rate"))
    assert "kpi" in error.value.message_dict


def test_the_owner_must_be_a_member(org, outsider):
    with pytest.raises(ValidationError) as error:
        save_objective(org, owner=outsider)
    assert "owner" in error.value.message_dict


def test_the_deadline_must_come_after_the_start(org):
    with pytest.raises(ValidationError) as error:
        save_objective(org, start_date=date(2025, 3, 1), deadline=date(2025, 3, 1))
    assert "deadline" in error.value.message_dict


def test_the_baseline_period_must_be_in_order(org):
    with pytest.raises(ValidationError) as error:
        save_objective(org, baseline_start=date(2024, 12, 1), baseline_end=date(2024, 11, 1))
    assert "baseline_end" in error.value.message_dict


def test_campaigns_of_another_organization_are_refused(org, other_org):
    with pytest.raises(ValidationError) as error:
        save_objective(org, campaigns=[make_campaign(other_org)])
    assert "campaigns" in error.value.message_dict


def test_an_objective_edit_made_meanwhile_is_refused(org):
    objective = make_objective(org)
    shown = fingerprint(objective, services.OBJECTIVE_FIELDS)
    Objective.objects.filter(pk=objective.pk).update(title="Theirs")
    with pytest.raises(ValidationError):
        save_objective(org, objective=objective, expected_fingerprint=shown)


def test_objective_delete_keeps_the_campaigns(org, campaign):
    objective = make_objective(org)
    objective.campaigns.add(campaign)
    services.objective_delete(organization=org, objective=objective)
    assert not Objective.objects.filter(pk=objective.pk).exists()
    assert Campaign.objects.filter(pk=campaign.pk).exists()
