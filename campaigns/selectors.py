"""Reads of campaigns and objectives for pages. Each returns plain rows in a fixed number of
queries, whatever the number of campaigns or objectives."""

from django.db.models import Prefetch, QuerySet

from kpiboard.models import Organization

from .models import Campaign, Objective


def campaigns_for_overview(*, organization: Organization) -> QuerySet[Campaign]:
    return Campaign.objects.filter(organization=organization).order_by("-start_date", "name")


def objectives_for_overview(*, organization: Organization) -> QuerySet[Objective]:
    return (
        Objective.objects.filter(organization=organization)
        .select_related("kpi", "owner")
        .prefetch_related(Prefetch("campaigns", queryset=Campaign.objects.order_by("name")))
        .order_by("deadline", "title")
    )
