from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from kpiboard.models import Organization
from kpiboard.services import organization_create


class Command(BaseCommand):
    help = "Create an organization with the standard catalog of metrics and KPIs."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--language", default="fr", choices=["fr", "en"])
        parser.add_argument("--fiscal-year-start", type=int, default=1, metavar="MONTH")
        parser.add_argument("--owner", metavar="USERNAME", help="made admin of the organization")

    def handle(self, *args, slug, name, currency, language, fiscal_year_start, owner, **options):
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"An organization with the slug {slug!r} already exists.")
        user = None
        if owner:
            try:
                user = get_user_model().objects.get(username=owner)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {owner!r}.") from None
        try:
            organization = organization_create(
                name=name,
                slug=slug,
                currency=currency,
                language=language,
                fiscal_year_start_month=fiscal_year_start,
                owner=user,
            )
        except ValidationError as error:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(messages) from None
        self.stdout.write(
            f"Created {organization.name} ({organization.slug}, {organization.currency}, "
            f"{organization.language}) with {organization.metrics.count()} metrics and "
            f"{organization.kpis.count()} KPIs."
        )
