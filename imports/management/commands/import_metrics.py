"""manage.py import_metrics FILE --org SLUG [--campaign NAME] [--create-campaigns] [--dry-run]

Exit 0 when the file is applied (or, with --dry-run, would be), printing the counts; exit 1
with every problem (line, column, reason) when it is refused, and nothing written.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.models import Campaign, Channel
from imports.parsing import Problem
from imports.services import ImportActionError, ImportOptions, import_check, import_run
from kpiboard.models import Organization


class Command(BaseCommand):
    help = "Import monthly metric values from a CSV or .xlsx file: all of them, or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument(
            "--campaign", help="The campaign of every row, for a file without a campaign column."
        )
        parser.add_argument(
            "--create-campaigns",
            action="store_true",
            help="Create the campaigns the file names and the organization lacks.",
        )
        parser.add_argument(
            "--channel",
            choices=Channel.values,
            default=Channel.SEO.value,
            help="The channel of the campaigns created (default: %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count; write nothing."
        )

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with the slug {options['org']!r}.")
        campaign_id = None
        if options["campaign"]:
            campaign = Campaign.objects.filter(
                organization=organization, name__iexact=options["campaign"].strip()
            ).first()
            if campaign is None:
                raise CommandError(f"No campaign named {options['campaign']!r} in {organization}.")
            campaign_id = campaign.pk
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        import_options = ImportOptions(
            campaign_id=campaign_id,
            create_campaigns=options["create_campaigns"],
            new_campaign_channel=options["channel"],
        )
        problems = 0

        def show(problem: Problem) -> None:
            nonlocal problems
            problems += 1
            self.stderr.write(str(problem))

        # Problems are printed as they are found: every one of them, in bounded memory.
        with path.open("rb") as stream:
            if options["dry_run"]:
                check = import_check(
                    organization=organization,
                    stream=stream,
                    filename=path.name,
                    options=import_options,
                    max_problems=0,
                    on_problem=show,
                )
                applied = False
            else:
                try:
                    result = import_run(
                        organization=organization,
                        stream=stream,
                        filename=path.name,
                        options=import_options,
                        user=None,
                        max_problems=0,
                        on_problem=show,
                    )
                except ImportActionError as error:
                    raise CommandError(error.message) from error
                check, applied = result.check, result.applied
        if problems:
            raise CommandError(
                f"Refused: {problems} problem(s) in {path.name}; nothing was written."
            )
        counts = check.counts
        campaigns = len(check.missing_campaigns)
        if applied:
            summary = f"Applied {path.name}: {counts.created} new, {counts.updated} changed"
            created = "created"
        else:
            summary = f"Dry run of {path.name}, nothing written: {counts.created} new, {counts.updated} changed"
            created = "to create"
        summary += f", {counts.unchanged} unchanged values ({check.values} read"
        if campaigns:
            summary += f"; {campaigns} campaign(s) {created}"
        self.stdout.write(summary + ").")
