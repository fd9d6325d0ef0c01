"""Where checked values wait until the whole file has been read.

On PostgreSQL they are streamed with COPY into a TEMP table, so a file of any length costs
bounded memory, then compared with the stored values and merged by one statement: new
values are inserted, changed ones updated, with their history (ValueChange keeps every value
the import replaces); a value it adds has no previous value, and its creation is told by the
entry itself (who, when, which import: MetricEntry.creation_logged) until it first changes.
Elsewhere (the embedded SQLite mode, small files) the values wait in a list and go through
metrics.services.entries_write, which records the same history.

Campaigns the file names but the organization lacks are staged under negative ids, replaced
by the real ones when the campaigns are created, at apply time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection

from metrics.models import Metric, MetricEntry, Source, StaleMark, ValueChange
from metrics.services import (
    ENTRY_QUANTUM,
    ValueWrite,
    entries_lock,
    entries_write,
    kpis_mark_all_stale,
    schedule_recompute,
)

# When an import touches many (campaign, month) cells, one full recompute of the organization
# is cheaper than recomputing each cell's periods and scopes. Measured (bench/import.py):
# about 3 ms a cell one by one, about 50 µs a stored value for everything; so a full
# recompute once the cells outnumber a fiftieth of the values, and never under this many.
FULL_RECOMPUTE_CELLS = 500
FULL_RECOMPUTE_RATIO = 50

_STAGING = "imports_staging"
_NEW_CAMPAIGNS = "imports_new_campaigns"
_CHANGES = "imports_changes"
_CELLS = "imports_cells"
_FLUSH_ROWS = 8_000


def _sql(template: str, **extra: str) -> str:
    """SQL with table names filled in (from the models: nothing comes from the file)."""
    return template.format(
        staging=_STAGING,
        new_campaigns=_NEW_CAMPAIGNS,
        changes=_CHANGES,
        cells=_CELLS,
        entries=MetricEntry._meta.db_table,
        history=ValueChange._meta.db_table,
        metrics=Metric._meta.db_table,
        stale_marks=StaleMark._meta.db_table,
        **extra,
    )


# None: PostgreSQL's COPY path on PostgreSQL, the list elsewhere. Tests set "memory" to run
# the embedded mode's path on PostgreSQL too.
STAGING_KIND: str | None = None


class ChangedMeanwhile(Exception):
    """A campaign or metric the file's values go to was deleted since the file was read."""


@dataclass(frozen=True)
class Counts:
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class StagedChange:
    line: int
    campaign_id: int
    metric_id: int
    month: date
    old: Decimal | None
    new: Decimal


class Stager(Protocol):
    rows: int

    def add(self, line: int, campaign_id: int, metric_id: int, month: date, value: Decimal) -> None:
        """Keep one value; campaign_id is negative for a campaign still to be created."""

    def add_block(
        self,
        lines: Sequence[int],
        campaign_ids: Sequence[int],
        metric_ids: Sequence[int],
        months: Sequence[date],
        values: Sequence[str],
    ) -> None:
        """Keep many values at once; each a decimal literal, of an existing campaign."""

    def finish(self) -> None:
        """The file has been read: no more add()."""

    def counts(self) -> Counts:
        """How the staged values compare with the stored ones."""

    def changes(self, *, new: bool, limit: int) -> list[StagedChange]:
        """The first staged values (in file order) that are new, or that change a value."""

    def apply(
        self,
        *,
        organization: Any,
        batch: Any,
        user: Any,
        now: datetime,
        new_campaigns: dict[int, int],
        campaign_ids: set[int],
    ) -> Counts:
        """Write the staged values, their history and stale marks; recompute on commit.

        ``campaign_ids`` are the existing campaigns the values go to (new ones aside).
        Raises ChangedMeanwhile when one of them, or a metric, is gone."""


@contextmanager
def staging(*, organization: Any, kind: str | None = None) -> Iterator[Stager]:
    """A stager for the current database, cleaned up on the way out."""
    kind = kind or STAGING_KIND or ("postgresql" if connection.vendor == "postgresql" else "memory")
    stager: PostgresStager | MemoryStager
    stager = PostgresStager() if kind == "postgresql" else MemoryStager(organization)
    try:
        yield stager
    finally:
        stager.close()


def _mark_stale(*, organization: Any, cells: int, insert_marks: Any) -> None:
    enough = cells * FULL_RECOMPUTE_RATIO + 1
    if cells > FULL_RECOMPUTE_CELLS and enough - 1 > _stored_values(organization, enough):
        kpis_mark_all_stale(organization=organization)
    elif cells:
        insert_marks()
        schedule_recompute(organization_id=organization.pk)


def _stored_values(organization: Any, enough: int) -> int:
    """How many values the organization stores, counted up to ``enough``."""
    return MetricEntry.objects.filter(organization=organization)[:enough].count()


class PostgresStager:
    """COPY into a TEMP table; compare and merge with set-based statements."""

    def __init__(self) -> None:
        self.rows = 0
        self._cursor = connection.cursor()
        self._cursor.execute(
            _sql("DROP TABLE IF EXISTS {staging}, {new_campaigns}, {changes}, {cells}")
        )
        self._cursor.execute(
            _sql(
                "CREATE TEMP TABLE {staging} (line integer, campaign_id bigint, metric_id bigint,"
                " month date, value numeric(20, 6))"
            )
        )
        # The COPY opens with the first buffer sent: while it is open the connection serves
        # nothing else, so everything the pass needs is read from the database before.
        self._copy_manager: Any = None
        self._copy: Any = None
        self._buffer: list[str] = []
        self._pending = 0  # rows in the buffer
        self._texts: dict[int | date, str] = {}  # each id and month as COPY reads it
        self._changes_ready = False

    def add(self, line: int, campaign_id: int, metric_id: int, month: date, value: Decimal) -> None:
        text = self._texts.get(month)
        if text is None:
            text = self._texts[month] = month.isoformat()
        self._buffer.append(f"{line}\t{campaign_id}\t{metric_id}\t{text}\t{value}\n")
        self._pending += 1
        if self._pending >= _FLUSH_ROWS:
            self._send()

    def add_block(
        self,
        lines: Sequence[int],
        campaign_ids: Sequence[int],
        metric_ids: Sequence[int],
        months: Sequence[date],
        values: Sequence[str],
    ) -> None:
        if not values:
            return
        texts = self._texts
        for key in set(campaign_ids).union(metric_ids, months).difference(texts):
            texts[key] = key.isoformat() if isinstance(key, date) else str(key)
        text = texts.__getitem__
        rows = zip(
            map(str, lines),
            map(text, campaign_ids),
            map(text, metric_ids),
            map(text, months),
            values,
            strict=True,
        )
        self._buffer.append("\n".join(map("\t".join, rows)) + "\n")
        self._pending += len(values)
        if self._pending >= _FLUSH_ROWS:
            self._send()

    def _send(self) -> None:
        if self._copy_manager is None:
            self._copy_manager = self._cursor.cursor.copy(_sql("COPY {staging} FROM STDIN"))
            self._copy = self._copy_manager.__enter__()
        self._copy.write("".join(self._buffer))
        self.rows += self._pending
        self._buffer = []
        self._pending = 0

    def finish(self) -> None:
        if self._buffer:
            self._send()
        if self._copy_manager is not None:
            manager, self._copy_manager = self._copy_manager, None
            manager.__exit__(None, None, None)
        # Temporary tables are never analyzed on their own: without statistics the planner
        # would guess the size of the joins below.
        self._cursor.execute(_sql("ANALYZE {staging}"))

    def close(self) -> None:
        if self._copy_manager is not None:  # left in the middle of the file: abandon the COPY
            manager, self._copy_manager = self._copy_manager, None
            with contextlib.suppress(Exception):  # psycopg re-raises the failure it was given
                manager.__exit__(RuntimeError, RuntimeError("import abandoned"), None)
        try:
            if not connection.needs_rollback and connection.connection is not None:
                self._cursor.execute(
                    _sql("DROP TABLE IF EXISTS {staging}, {new_campaigns}, {changes}, {cells}")
                )
        finally:
            self._cursor.close()

    def _changes(self) -> None:
        """What would change, with the value it replaces: one join of the staged values
        with the stored ones, kept for the counts, the samples and the merge."""
        if self._changes_ready:
            return
        self._cursor.execute(
            _sql(
                "CREATE TEMP TABLE {changes} AS SELECT s.line, s.campaign_id, s.metric_id,"
                " s.month, s.value, e.value AS old_value FROM {staging} s"
                " LEFT JOIN {entries} e ON e.campaign_id = s.campaign_id"
                " AND e.metric_id = s.metric_id AND e.month = s.month"
                " WHERE e.value IS DISTINCT FROM s.value"
            )
        )
        self._changes_ready = True

    def counts(self) -> Counts:
        self._changes()
        self._cursor.execute(
            _sql(
                "SELECT count(*) FILTER (WHERE old_value IS NULL),"
                " count(*) FILTER (WHERE old_value IS NOT NULL) FROM {changes}"
            )
        )
        created, updated = self._cursor.fetchone()
        return Counts(created, updated, self.rows - created - updated)

    def changes(self, *, new: bool, limit: int) -> list[StagedChange]:
        self._changes()
        self._cursor.execute(
            _sql(
                "SELECT line, campaign_id, metric_id, month, old_value, value FROM {changes}"
                " WHERE old_value IS {condition} NULL ORDER BY line, metric_id LIMIT %s",
                condition="" if new else "NOT",
            ),
            [limit],
        )
        return [StagedChange(*row) for row in self._cursor.fetchall()]

    def apply(
        self,
        *,
        organization: Any,
        batch: Any,
        user: Any,
        now: datetime,
        new_campaigns: dict[int, int],
        campaign_ids: set[int],
    ) -> Counts:
        cursor = self._cursor
        metric_ids = Metric.objects.filter(organization=organization).values_list("pk", flat=True)
        if not entries_lock(
            organization=organization, campaign_ids=campaign_ids, metric_ids=metric_ids
        ):
            raise ChangedMeanwhile
        if new_campaigns:  # their values were staged under placeholders: use the real ids
            cursor.execute(
                _sql("CREATE TEMP TABLE {new_campaigns} (placeholder bigint, id bigint)")
            )
            cursor.executemany(
                _sql("INSERT INTO {new_campaigns} VALUES (%s, %s)"), list(new_campaigns.items())
            )
            cursor.execute(
                _sql(
                    "UPDATE {staging} s SET campaign_id = n.id FROM {new_campaigns} n"
                    " WHERE s.campaign_id < 0 AND s.campaign_id = n.placeholder"
                )
            )
        params = {
            "organization": organization.pk,
            "batch": batch.pk,
            "user": getattr(user, "pk", None),
            "now": now,
            "source": Source.IMPORT.value,
        }
        # The hash of the stored values a file is compared with, and the touched cells, fit
        # in memory rather than spilling to disk (SET LOCAL: for this transaction only).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            _sql(
                "CREATE TEMP TABLE {cells} (campaign_id bigint, month date, created"
                " integer, updated integer)"
            )
        )
        # One statement: the staged values that differ from the stored ones (the campaigns
        # are locked: nobody else writes their values meanwhile), inserted when new (a plain
        # INSERT: no speculative insertion, no conflict possible), updated when changed,
        # with the history of the changed ones: the value replaced, and first, for a value
        # an import added and nobody changed since, its creation as the entry tells it.
        # Unchanged values are not touched at all; the counts come from the same join.
        cursor.execute(
            _sql(
                "WITH changed AS MATERIALIZED ("
                " SELECT s.campaign_id, s.metric_id, s.month, s.value, e.id AS entry_id,"
                " e.value AS old_value, e.creation_logged, e.updated_by_id, e.updated_at,"
                " e.source, e.import_batch_id FROM {staging} s"
                " LEFT JOIN {entries} e ON e.organization_id = %(organization)s"
                " AND e.campaign_id = s.campaign_id AND e.metric_id = s.metric_id"
                " AND e.month = s.month WHERE e.value IS DISTINCT FROM s.value),"
                " created AS (INSERT INTO {entries} (organization_id, campaign_id, metric_id,"
                " month, value, kind, version, source, import_batch_id, updated_by_id,"
                " updated_at, creation_logged)"
                " SELECT %(organization)s, c.campaign_id, c.metric_id, c.month, c.value,"
                " m.kind, 1, %(source)s, %(batch)s, %(user)s, %(now)s, false"
                " FROM changed c JOIN {metrics} m ON m.id = c.metric_id"
                " WHERE c.entry_id IS NULL),"
                " updated AS (UPDATE {entries} e SET value = c.value, version = e.version + 1,"
                " source = %(source)s, import_batch_id = %(batch)s,"
                " updated_by_id = %(user)s, updated_at = %(now)s, creation_logged = true"
                " FROM changed c WHERE c.entry_id IS NOT NULL AND e.id = c.entry_id),"
                " logged AS (INSERT INTO {history} (organization_id, campaign_id, metric_id,"
                " month, old_value, new_value, changed_by_id, changed_at, source,"
                " import_batch_id)"
                " SELECT %(organization)s, campaign_id, metric_id, month, NULL, old_value,"
                " updated_by_id, updated_at, source, import_batch_id FROM changed"
                " WHERE entry_id IS NOT NULL AND NOT creation_logged"
                " UNION ALL"
                " SELECT %(organization)s, campaign_id, metric_id, month, old_value, value,"
                " %(user)s, %(now)s, %(source)s, %(batch)s FROM changed"
                " WHERE entry_id IS NOT NULL)"
                " INSERT INTO {cells} SELECT campaign_id, month,"
                " count(*) FILTER (WHERE entry_id IS NULL),"
                " count(*) FILTER (WHERE entry_id IS NOT NULL)"
                " FROM changed GROUP BY campaign_id, month"
            ),
            params,
        )
        cursor.execute(_sql("SELECT count(*), sum(created), sum(updated) FROM {cells}"))
        cells, created, updated = cursor.fetchone()
        created, updated = int(created or 0), int(updated or 0)

        def insert_marks() -> None:
            cursor.execute(
                _sql(
                    "INSERT INTO {stale_marks} (organization_id, campaign_id, month, created_at)"
                    " SELECT %(organization)s, campaign_id, month, %(now)s FROM {cells}"
                    " ORDER BY campaign_id, month"
                ),
                params,
            )

        _mark_stale(organization=organization, cells=cells, insert_marks=insert_marks)
        return Counts(created, updated, self.rows - created - updated)


class MemoryStager:
    """A list of values, compared with the stored ones in Python: for small files."""

    def __init__(self, organization: Any) -> None:
        self.organization = organization
        self.rows = 0
        self._values: list[tuple[int, int, int, date, Decimal]] = []

    def add(self, line: int, campaign_id: int, metric_id: int, month: date, value: Decimal) -> None:
        self._values.append((line, campaign_id, metric_id, month, value.quantize(ENTRY_QUANTUM)))
        self.rows += 1

    def add_block(
        self,
        lines: Sequence[int],
        campaign_ids: Sequence[int],
        metric_ids: Sequence[int],
        months: Sequence[date],
        values: Sequence[str],
    ) -> None:
        self._values.extend(
            (line, campaign_id, metric_id, month, Decimal(value).quantize(ENTRY_QUANTUM))
            for line, campaign_id, metric_id, month, value in zip(
                lines, campaign_ids, metric_ids, months, values, strict=True
            )
        )
        self.rows += len(values)

    def finish(self) -> None:
        pass

    def close(self) -> None:
        self._values = []

    def _stored(self) -> dict[tuple[int, int, date], Decimal]:
        campaign_ids = {v[1] for v in self._values if v[1] > 0}
        months = {v[3] for v in self._values}
        stored = MetricEntry.objects.filter(
            organization=self.organization, campaign_id__in=campaign_ids, month__in=months
        )
        return {
            (campaign_id, metric_id, month): value
            for campaign_id, metric_id, month, value in stored.values_list(
                "campaign_id", "metric_id", "month", "value"
            )
        }

    def counts(self) -> Counts:
        stored = self._stored()
        created = updated = 0
        for _line, campaign_id, metric_id, month, value in self._values:
            old = stored.get((campaign_id, metric_id, month))
            if old is None:
                created += 1
            elif old != value:
                updated += 1
        return Counts(created, updated, self.rows - created - updated)

    def changes(self, *, new: bool, limit: int) -> list[StagedChange]:
        stored = self._stored()
        found = []
        for line, campaign_id, metric_id, month, value in self._values:
            old = stored.get((campaign_id, metric_id, month))
            if (old is None) if new else (old is not None and old != value):
                found.append(StagedChange(line, campaign_id, metric_id, month, old, value))
                if len(found) >= limit:
                    break
        return found

    def apply(
        self,
        *,
        organization: Any,
        batch: Any,
        user: Any,
        now: datetime,
        new_campaigns: dict[int, int],
        campaign_ids: set[int],
    ) -> Counts:
        metric_ids = {value[2] for value in self._values}
        if not entries_lock(
            organization=organization, campaign_ids=campaign_ids, metric_ids=metric_ids
        ):
            raise ChangedMeanwhile
        result = entries_write(
            organization=organization,
            writes=[
                ValueWrite(new_campaigns.get(campaign_id, campaign_id), metric_id, month, value)
                for _line, campaign_id, metric_id, month, value in self._values
            ],
            user=user,
            source=Source.IMPORT,
            import_batch=batch,
        )
        return Counts(result.created, result.updated, result.unchanged)
