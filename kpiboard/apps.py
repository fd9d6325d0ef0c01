import logging

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("kpiboard")


class KpiboardConfig(AppConfig):
    name = "kpiboard"
    verbose_name = _("Organizations")

    def ready(self) -> None:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.info(
                "CELERY_BROKER_URL is not set: background tasks run inline (embedded mode)."
            )
