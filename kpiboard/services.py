"""Writes on organizations and their members."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from metrics.services import catalog_install

from .models import Membership, Organization, Role


@transaction.atomic
def organization_create(
    *,
    name: str,
    slug: str,
    currency: str = "EUR",
    language: str = "fr",
    time_zone: str = "Europe/Paris",
    fiscal_year_start_month: int = 1,
    owner: AbstractBaseUser | None = None,
) -> Organization:
    """Create an organization with DOMAIN.md's standard catalog, and its first admin."""
    organization = Organization(
        name=name,
        slug=slug,
        currency=currency.upper(),
        language=language,
        time_zone=time_zone,
        fiscal_year_start_month=fiscal_year_start_month,
    )
    organization.full_clean()
    organization.save()
    catalog_install(organization=organization)
    if owner is not None:
        membership_set(organization=organization, user=owner, role=Role.ADMIN)
    return organization


def membership_set(*, organization: Organization, user: AbstractBaseUser, role: str) -> Membership:
    membership, _created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": Role(role)}
    )
    return membership
