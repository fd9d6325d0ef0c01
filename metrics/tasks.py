"""Celery tasks: thin, take ids, safe to run twice. The work is in metrics.recompute."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from .models import StaleMark
from .recompute import kpis_recompute_stale

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def recompute_kpis(organization_id: int) -> int:
    return kpis_recompute_stale(organization_id=organization_id)


@shared_task(acks_late=True)
def sweep_stale_kpis() -> int:
    """Recompute marks left behind (a lost message, a worker killed mid-task).

    Marks younger than the grace period belong to recomputes probably still on their way.
    """
    grace = timedelta(seconds=getattr(settings, "KPI_SWEEP_GRACE_SECONDS", 30))
    organization_ids = sorted(
        set(
            StaleMark.objects.filter(created_at__lt=timezone.now() - grace).values_list(
                "organization_id", flat=True
            )
        )
    )
    for organization_id in organization_ids:
        logger.info("Sweeping stale KPI values of organization %s", organization_id)
        kpis_recompute_stale(organization_id=organization_id)
    return len(organization_ids)
