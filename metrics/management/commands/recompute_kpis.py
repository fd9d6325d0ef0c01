import time

from django.core.management.base import BaseCommand, CommandError

from kpiboard.models import Organization
from metrics.recompute import kpis_recompute_all


class Command(BaseCommand):
    help = "Rebuild every stored KPI value of an organization (or of all of them)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--org", metavar="SLUG")
        group.add_argument("--all", action="store_true")

    def handle(self, *args, org, all, **options):
        organizations = Organization.objects.order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations:
                raise CommandError(f"No organization with the slug {org!r}.")
        for organization in organizations:
            started = time.perf_counter()
            count = kpis_recompute_all(organization=organization)
            self.stdout.write(
                f"{organization.slug}: {count} KPI values in {time.perf_counter() - started:.1f} s"
            )
