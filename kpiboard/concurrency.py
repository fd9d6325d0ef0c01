"""Refuse to overwrite an edit made by someone else while a form was open.

An edit form carries the fingerprint of the row as it was shown; the service compares it with
the row it locks before saving. Nothing in the models changes: no version column needed for
rows edited a few times a month.
"""

import hashlib
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

CONFLICT_MESSAGE = _(
    "Someone else changed this while you were editing it. Saving again will replace their "
    "changes with yours; reload the page to see theirs first."
)


def fingerprint(instance: models.Model, fields: tuple[str, ...]) -> str:
    """A short digest of the fields' stored values (foreign keys by id)."""
    parts = []
    for name in fields:
        value = getattr(instance, instance._meta.get_field(name).attname)
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")  # 10000 and 10000.00 are one amount
        parts.append(repr(value))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def check_unchanged(instance: models.Model, fields: tuple[str, ...], expected: str | None) -> None:
    """Raise ValidationError when the row no longer matches the fingerprint the form had.

    ``instance`` is the row as read now (ideally under select_for_update); ``expected`` None
    means the caller does not check (API, tests, scripts).
    """
    if expected is not None and expected != fingerprint(instance, fields):
        raise ValidationError(CONFLICT_MESSAGE, code="conflict")
