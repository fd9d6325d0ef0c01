"""Writes on campaigns and objectives.

A campaign's channel decides which channel totals its values count in: changing it, or
deleting the campaign (its values go with it), changes aggregates, so every KPI is marked
for recompute in the same transaction.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kpiboard.concurrency import check_unchanged
from kpiboard.data_version import organization_data_changed
from kpiboard.models import Membership, Organization
from metrics.models import KPI
from metrics.services import kpis_mark_all_stale

from .models import Campaign, Objective

CAMPAIGN_FIELDS = ("name", "channel", "market", "start_date", "end_date", "budget")
OBJECTIVE_FIELDS = (
    "title", "description", "kpi", "category", "baseline_value", "baseline_start",
    "baseline_end", "target_kind", "target_value", "start_date", "deadline", "owner",
)  # fmt: skip


def _locked(model, organization: Organization, pk: int):
    return model.objects.select_for_update().get(organization=organization, pk=pk)


@transaction.atomic
def campaign_save(
    *,
    organization: Organization,
    campaign: Campaign | None = None,
    name: str,
    channel: str,
    market: str = "",
    start_date: date,
    end_date: date | None = None,
    budget: Decimal = Decimal("0"),
    objectives: Iterable[Objective] | None = None,
    expected_fingerprint: str | None = None,
) -> Campaign:
    """Create or change a campaign and, if given, the objectives it serves.

    Raises ValidationError (by field) for a taken name, dates in the wrong order, a negative
    budget, objectives of another organization, or an edit made meanwhile by someone else.
    """
    if campaign is not None and campaign.pk:
        campaign = _locked(Campaign, organization, campaign.pk)
        check_unchanged(campaign, CAMPAIGN_FIELDS, expected_fingerprint)
        old_channel = campaign.channel
    else:
        campaign = Campaign(organization=organization)
        old_channel = None
    name = name.strip()
    if (
        Campaign.objects.filter(organization=organization, name__iexact=name)
        .exclude(pk=campaign.pk)
        .exists()
    ):
        raise ValidationError({"name": _("A campaign with this name already exists.")})
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": _("The end comes before the start.")})
    campaign.name = name
    campaign.channel = channel
    campaign.market = market.strip()
    campaign.start_date = start_date
    campaign.end_date = end_date
    campaign.budget = budget
    campaign.full_clean(exclude=["organization"], validate_constraints=False)
    campaign.save()
    if objectives is not None:
        objectives = list(objectives)
        if any(o.organization_id != organization.pk for o in objectives):
            raise ValidationError({"objectives": _("Objectives of another organization.")})
        campaign.objectives.set(objectives)
    if old_channel is not None and old_channel != campaign.channel:
        # Its values now count in another channel's totals.
        kpis_mark_all_stale(organization=organization)
    organization_data_changed(organization_id=organization.pk)
    return campaign


@transaction.atomic
def campaign_delete(*, organization: Organization, campaign: Campaign) -> None:
    """Delete a campaign with its monthly values, targets and history; recompute totals."""
    campaign = _locked(Campaign, organization, campaign.pk)
    campaign.delete()
    kpis_mark_all_stale(organization=organization)


@transaction.atomic
def objective_save(
    *,
    organization: Organization,
    objective: Objective | None = None,
    title: str,
    kpi: KPI,
    category: str,
    baseline_value: Decimal,
    baseline_start: date,
    baseline_end: date,
    target_kind: str,
    target_value: Decimal,
    start_date: date,
    deadline: date,
    description: str = "",
    owner: AbstractBaseUser | None = None,
    campaigns: Iterable[Campaign] | None = None,
    expected_fingerprint: str | None = None,
) -> Objective:
    """Create or change a SMART objective. Baseline months are stored as first days.

    Raises ValidationError (by field) for a KPI, campaign or owner outside the organization,
    dates in the wrong order, or an edit made meanwhile by someone else.
    """
    if objective is not None and objective.pk:
        objective = _locked(Objective, organization, objective.pk)
        check_unchanged(objective, OBJECTIVE_FIELDS, expected_fingerprint)
    else:
        objective = Objective(organization=organization)
    errors: dict[str, str] = {}
    if kpi.organization_id != organization.pk:
        errors["kpi"] = _("This KPI belongs to another organization.")
    if (
        owner is not None
        and not Membership.objects.filter(organization=organization, user=owner).exists()
    ):
        errors["owner"] = _("The owner must be a member of the organization.")
    baseline_start = baseline_start.replace(day=1)
    baseline_end = baseline_end.replace(day=1)
    if baseline_end < baseline_start:
        errors["baseline_end"] = _("The baseline period ends before it starts.")
    if deadline <= start_date:
        errors["deadline"] = _("The deadline must come after the start.")
    campaigns = None if campaigns is None else list(campaigns)
    if campaigns and any(c.organization_id != organization.pk for c in campaigns):
        errors["campaigns"] = _("Campaigns of another organization.")
    if errors:
        raise ValidationError(errors)
    objective.title = title.strip()
    objective.description = description.strip()
    objective.kpi = kpi
    objective.category = category
    objective.baseline_value = baseline_value
    objective.baseline_start = baseline_start
    objective.baseline_end = baseline_end
    objective.target_kind = target_kind
    objective.target_value = target_value
    objective.start_date = start_date
    objective.deadline = deadline
    objective.owner = owner
    objective.full_clean(exclude=["organization"], validate_constraints=False)
    objective.save()
    if campaigns is not None:
        objective.campaigns.set(campaigns)
    organization_data_changed(organization_id=organization.pk)
    return objective


@transaction.atomic
def objective_delete(*, organization: Organization, objective: Objective) -> None:
    _locked(Objective, organization, objective.pk).delete()
    organization_data_changed(organization_id=organization.pk)
