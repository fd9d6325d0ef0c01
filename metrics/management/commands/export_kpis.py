import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign
from kpiboard.models import Organization
from metrics.exports import export_rows, write_csv, write_json

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_arg(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    match = MONTH.match(text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"--{name} {text!r}: expected a month as YYYY-MM, e.g. 2025-01.")
    return date(int(match[1]), int(match[2]), 1)


class Command(BaseCommand):
    help = "Write computed KPI values to stdout as CSV (period,campaign,kpi,value,unit) or JSON."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument("--campaign", metavar="NAME")
        parser.add_argument("--from", dest="first", metavar="YYYY-MM")
        parser.add_argument("--to", dest="last", metavar="YYYY-MM")
        parser.add_argument("--grain", choices=["month", "quarter", "year"], default="month")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, org, campaign, first, last, grain, format, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {org!r}.")
        chosen = None
        if campaign:
            chosen = Campaign.objects.filter(organization=organization, name=campaign).first()
            if chosen is None:
                raise CommandError(f"No campaign named {campaign!r} in {org}.")
        start, end = month_arg(first, "from"), month_arg(last, "to")
        if start and end and start > end:
            raise CommandError("--from is after --to.")
        rows = export_rows(organization=organization, campaign=chosen, first=start, last=end,
                           grain=grain)  # fmt: skip
        self.stdout.ending = ""  # the writers end their own lines
        (write_csv if format == "csv" else write_json)(rows, self.stdout)
