from django.core.management.base import BaseCommand

from kpiboard.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo organizations (idempotent: running it twice changes nothing)."

    def handle(self, *args, **options):
        counts = seed_demo()
        self.stdout.write(
            f"Demo ready: {counts['created']} values created, {counts['updated']} updated.\n"
            "Log in as demo / demo (admin of both organizations) "
            "or viewer / viewer (viewer only)."
        )
