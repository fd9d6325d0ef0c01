"""The data version of an organization: a number that changes with anything its dashboards
show, so that pages rendered once can be served again until it moves (dashboards.page_cache).

Every service that writes something a dashboard shows calls organization_data_changed()
inside its transaction, as late as it can: the version then moves exactly when the change
becomes visible (it commits or rolls back with it). The row is locked from that statement
to the commit, so writers of the same organization queue there briefly; nothing waits on the
organization row, which the recompute keeps locked for its whole run.

The version lives in the database: a cache that loses keys costs renders, never freshness.
"""

from django.db import connection

from .models import DataVersion, Organization


def organization_data_changed(*, organization_id: int) -> None:
    """Something the organization's pages show has changed (or will when this commits)."""
    table = DataVersion._meta.db_table
    with connection.cursor() as cursor:
        # An upsert: organizations created before the table, or by hand, have no row yet.
        cursor.execute(
            f"INSERT INTO {table} (organization_id, version) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (organization_id) DO UPDATE SET version = {table}.version + 1",
            [organization_id],
        )


def data_version(organization: Organization) -> int:
    """The organization's data version; read with it by kpiboard.tenancy (no query then)."""
    try:
        return organization.data_version.version
    except DataVersion.DoesNotExist:
        return 0
