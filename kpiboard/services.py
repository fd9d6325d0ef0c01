"""Writes on organizations and their members."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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


# Members (admins manage them on the members page)


def _last_admin_guard(organization: Organization, membership: Membership) -> None:
    """Refuse a change that would leave the organization without an admin."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(organization=organization, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError(
            _("%(name)s is the last admin: make someone else admin first.")
            % {"name": membership.user.get_username()},
            code="last_admin",
        )


@transaction.atomic
def member_add(*, organization: Organization, identifier: str, role: str) -> Membership:
    """Add an existing user, found by username or e-mail. ValidationError if none, or if
    the e-mail is shared by several accounts, or if the person is already a member."""
    identifier = identifier.strip()
    users = get_user_model().objects.filter(is_active=True)
    found = list(users.filter(username__iexact=identifier)[:2])
    if len(found) != 1 and "@" in identifier:
        found = list(users.filter(email__iexact=identifier)[:2])
    if not found:
        raise ValidationError(
            {"identifier": _("No account has this username or e-mail address.")}, code="no_user"
        )
    if len(found) > 1:
        raise ValidationError(
            {"identifier": _("Several accounts match: type the username instead.")},
            code="ambiguous",
        )
    user = found[0]
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError(
            {"identifier": _("%(name)s is already a member.") % {"name": user.get_username()}},
            code="already_member",
        )
    return membership_set(organization=organization, user=user, role=role)


@transaction.atomic
def member_role_change(
    *, organization: Organization, membership: Membership, role: str
) -> Membership:
    """Change a member's role; the last admin cannot be demoted."""
    membership = Membership.objects.select_for_update().get(
        organization=organization, pk=membership.pk
    )
    if membership.role == Role.ADMIN and role != Role.ADMIN:
        _last_admin_guard(organization, membership)
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, organization: Organization, membership: Membership) -> None:
    """Remove someone from the organization (their account stays); never the last admin."""
    membership = Membership.objects.select_for_update().get(
        organization=organization, pk=membership.pk
    )
    if membership.role == Role.ADMIN:
        _last_admin_guard(organization, membership)
    membership.delete()
