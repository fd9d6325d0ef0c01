"""Imports: read a whole file, check every row, show what would change, then write it all in
one transaction or nothing at all.

Modelled on pretix's modelimport. One pass over the file (imports.parsing streams it) checks
every value and stages the good ones (imports.staging); only when no row has a problem are
they written, in one short atomic block with their history (ValueChange keeps every
previous value, so an import can be undone as a whole) and the stale marks that make Celery
recompute the KPIs once the transaction has committed.

    check = import_check(organization=org, stream=f, filename="june.csv", options=options)
    result = import_run(organization=org, stream=f, filename="june.csv", options=options, user=u)
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Channel
from campaigns.services import campaign_save
from kpiboard.models import Organization
from metrics.models import Metric, MetricAlias, MetricEntry, MetricKind, Source, ValueChange
from metrics.services import ENTRY_LIMIT, ValueWrite, entries_lock, entries_write

from .models import ImportBatch, ImportFile
from .parsing import (
    Block,
    FileInfo,
    ParseError,
    Problem,
    Record,
    _msg,
    iter_blocks,
    normalize_header,
    sniff,
)
from .selectors import (
    HOW_CHOSEN,
    HOW_CODE,
    HOW_IGNORED,
    HOW_UNKNOWN,
    Match,
    known_headers,
)
from .staging import ChangedMeanwhile, Counts, StagedChange, Stager, staging

MAX_PROBLEMS = 1000  # kept for the page; the count goes on
SAMPLE_ROWS = 10
CHANGE_ROWS = 50  # changed values shown with their old value
NEW_ROWS = 20  # new values shown
UNDO_CHUNK = 5000
PENDING_KEPT = timedelta(days=1)  # an upload nobody applied is dropped after this


# --- What the person chose on the preview -------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    campaign_id: int | None = None  # for a file without a campaign column
    # normalize_header(header) -> metric code, or "" to ignore the column.
    mapping: Mapping[str, str] = field(default_factory=dict)
    create_campaigns: bool = False
    new_campaign_channel: str = ""

    @classmethod
    def of(cls, batch: ImportBatch) -> ImportOptions:
        return cls(
            campaign_id=batch.campaign_id,
            mapping=dict(batch.mapping or {}),
            create_campaigns=batch.create_campaigns,
            new_campaign_channel=batch.new_campaign_channel,
        )


# --- What the check found -----------------------------------------------------------------


@dataclass
class ColumnMatch:
    """A column header (a metric name, in a long file) and the metric it was matched to."""

    header: str
    key: str  # normalize_header(header): the key of ImportOptions.mapping
    code: str | None
    how: str
    auto: Match | None = None  # what it matches without the preview's choice

    @property
    def choice(self) -> str:
        """The preview's select: a metric code, "-" (not read) or "?" (not matched)."""
        if self.how == HOW_UNKNOWN:
            return "?"
        return self.code or "-"


@dataclass
class MissingCampaign:
    name: str
    line: int
    placeholder: int  # the negative id its values are staged under
    first_month: date
    rows: int = 0


@dataclass
class SampleRow:
    line: int
    month: date
    campaign: str
    metric: Metric
    value: Decimal | None


@dataclass
class ValueDiff:
    line: int
    campaign: str
    metric: Metric
    month: date
    old: Decimal | None
    new: Decimal


@dataclass
class ImportCheck:
    filename: str
    info: FileInfo | None = None
    columns: list[ColumnMatch] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    notices: list[str] = field(default_factory=list)
    values: int = 0  # cells with a value, all checked
    blanks: int = 0  # empty cells: nothing to import (missing is not zero)
    sample: list[SampleRow] = field(default_factory=list)
    missing_campaigns: list[MissingCampaign] = field(default_factory=list)
    counts: Counts | None = None  # only when the file is clean
    additions: list[ValueDiff] = field(default_factory=list)
    updates: list[ValueDiff] = field(default_factory=list)
    metrics: dict[str, Metric] = field(default_factory=dict)
    campaign_column: str | None = None
    campaign_ids: set[int] = field(default_factory=set)  # the existing campaigns written to

    @property
    def ok(self) -> bool:
        return self.info is not None and self.problem_count == 0

    @property
    def more_problems(self) -> int:
        return self.problem_count - len(self.problems)

    @property
    def has_campaign_column(self) -> bool:
        return self.info is not None and self.info.campaign_column is not None


@dataclass
class ImportResult:
    check: ImportCheck
    batch: ImportBatch | None  # None for a dry run

    @property
    def applied(self) -> bool:
        return self.batch is not None and self.batch.status == ImportBatch.Status.APPLIED


class ImportActionError(Exception):
    """An import or an undo cannot go ahead; ``message`` says why, for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Matching headers ---------------------------------------------------------------------

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


class HeaderLookup(Mapping[str, str | None]):
    """The header map given to the parser: the organization's vocabulary, the choices made
    on the preview first, remembering every name it was asked about (in order)."""

    def __init__(self, known: dict[str, Match], mapping: Mapping[str, str]) -> None:
        self.known = known
        self.chosen = {
            key: Match(code or None, HOW_CHOSEN if code else HOW_IGNORED)
            for key, code in mapping.items()
        }
        self.extra: dict[str, Match] = {}
        self.asked: dict[str, Match | None] = {}

    def auto(self, name: str) -> Match | None:
        return self.extra.get(name) or self.known.get(name)

    def match(self, name: str) -> Match | None:
        return self.chosen.get(name) or self.auto(name)

    def prepare(self, header: str) -> None:
        """A wide file's header: "Dépenses (€)" or "Taux de rebond (info)" also match
        without what is between brackets."""
        key = normalize_header(header)
        if key not in self.known:
            bare = normalize_header(_BRACKETS.sub(" ", header))
            if bare and bare in self.known:
                self.extra[key] = self.known[bare]

    def __contains__(self, name: object) -> bool:
        found = self.match(name) if isinstance(name, str) else None
        if isinstance(name, str):
            self.asked.setdefault(name, found)
        return found is not None

    def __getitem__(self, name: str) -> str | None:
        found = self.match(name)
        if found is None:
            raise KeyError(name)
        return found.code

    def __iter__(self) -> Iterator[str]:
        return iter({**self.known, **self.extra, **self.chosen})

    def __len__(self) -> int:
        return len({**self.known, **self.extra, **self.chosen})


# --- The pass over the file ---------------------------------------------------------------


class _Reader:
    """One pass: every record checked, every good value staged, every problem counted."""

    def __init__(
        self,
        *,
        organization: Organization,
        options: ImportOptions,
        stager: Stager,
        max_problems: int | None,
        on_problem: Callable[[Problem], None] | None,
    ) -> None:
        self.organization = organization
        self.options = options
        self.stager = stager
        self.max_problems = max_problems
        self.on_problem = on_problem
        self.metrics = {m.code: m for m in Metric.objects.filter(organization=organization)}

    def add_problem(self, check: ImportCheck, problem: Problem) -> None:
        check.problem_count += 1
        if self.on_problem is not None:
            self.on_problem(problem)
        if self.max_problems is None or len(check.problems) < self.max_problems:
            check.problems.append(problem)

    def read(self, stream: BinaryIO | IO[bytes], filename: str) -> ImportCheck:
        check = ImportCheck(filename=filename, metrics=self.metrics)
        try:
            info = sniff(stream, filename=filename, max_bytes=settings.IMPORT_MAX_BYTES)
        except ParseError as error:
            for problem in error.problems:
                self.add_problem(check, problem)
            return check
        check.info = info
        options = self.options
        mapping = {
            key: code for key, code in options.mapping.items() if code == "" or code in self.metrics
        }
        lookup = HeaderLookup(known_headers(organization=self.organization), mapping)
        for _index, header in info.metric_columns:
            lookup.prepare(header)

        campaign_id: int | None = None  # the one campaign of a file without a campaign column
        campaign_label = None
        if info.campaign_column is None:
            if options.campaign_id is not None:
                campaign_id = (
                    Campaign.objects.filter(organization=self.organization, pk=options.campaign_id)
                    .values_list("pk", flat=True)
                    .first()
                )
            if campaign_id is None:
                self.add_problem(
                    check,
                    Problem(
                        None,
                        None,
                        None,
                        _(
                            "This file has no campaign column: choose the campaign its values belong to."
                        ),
                        "campaign_required",
                    ),
                )
                campaign_id = 0
        else:
            campaign_label = info.column_label(info.campaign_column)
            check.campaign_column = campaign_label
        campaigns = _CampaignNames(self.organization)

        value_label = info.column_label(info.value_column) if info.value_column is not None else ""
        labels = {}  # metric code -> the column its values come from
        for _index, header in info.metric_columns:
            found = lookup.match(normalize_header(header))
            if found is not None and found.code:
                labels.setdefault(found.code, header)
        unknown_names: dict[str, str] = {}  # long files: normalized name -> as written
        metric_ids = {code: m.pk for code, m in self.metrics.items()}
        no_negative = {code for code, m in self.metrics.items() if not m.allows_negative}
        percent = {code for code, m in self.metrics.items() if m.kind == MetricKind.PERCENT}
        add = self.stager.add
        limit = ENTRY_LIMIT
        sample = check.sample
        values = blanks = 0

        add_block = self.stager.add_block
        widest = len(str(int(limit))) - 1  # a literal this long or shorter is below the limit

        def block_campaigns(names: list[str] | None, lines: list[int]) -> list[int] | None:
            """The campaign of each value of a block, or None to read it value by value
            (a campaign to create, a second spelling: counted and reported there)."""
            if names is None:
                return [campaign_id] * len(lines)
            ids = campaigns.ids
            for name in sorted(set(names).difference(ids), key=names.index):
                if campaigns.resolve(name, lines[names.index(name)]) is None:
                    return None
            found = list(map(ids.__getitem__, names))
            return found if found and min(found) > 0 else None

        for found in iter_blocks(stream, info, header_map=lookup):
            if found.__class__ is Block:
                block: Block = found  # type: ignore[assignment]
                if len(sample) >= SAMPLE_ROWS and not block.negative and block.widest <= widest:
                    lines, names, codes, months, texts = (
                        block.lines, block.campaigns, block.codes, block.months, block.values
                    )  # fmt: skip
                    blank = texts.count("")
                    if blank:  # missing values are skipped, not zeros
                        keep = list(map(bool, texts))
                        lines, codes, months, texts = (
                            list(compress(column, keep)) for column in (lines, codes, months, texts)
                        )  # fmt: skip
                        names = None if names is None else list(compress(names, keep))
                    cids = block_campaigns(names, lines)  # type: ignore[arg-type]
                    if cids is not None:
                        add_block(
                            lines, cids, list(map(metric_ids.__getitem__, codes)), months, texts
                        )
                        values += len(texts)
                        blanks += blank
                        continue
                items: Iterable[Record | Problem] = block.records()
            else:
                items = (found,)  # type: ignore[assignment]
            for item in items:
                if item.__class__ is not Record:
                    if item.code == "unknown_metric" and item.value:  # type: ignore[union-attr]
                        unknown_names.setdefault(normalize_header(item.value), item.value)  # type: ignore[union-attr]
                    self.add_problem(check, item)  # type: ignore[arg-type]
                    continue
                line, month, campaign, code, value, is_percent = item  # type: ignore[misc]
                if len(sample) < SAMPLE_ROWS:
                    sample.append(SampleRow(line, month, campaign or "", self.metrics[code], value))
                if value is None:
                    blanks += 1
                    continue
                if (
                    value >= limit
                    or (value < 0 and (code in no_negative or value <= -limit))
                    or (is_percent and code not in percent)
                ):
                    self.add_problem(
                        check,
                        self._value_problem(
                            info, labels, value_label, line, code, value, is_percent
                        ),
                    )
                    continue
                if campaign is None:
                    cid = campaign_id
                else:
                    cid = campaigns.ids.get(campaign)
                    if cid is None:
                        cid = campaigns.resolve(campaign, line)
                        if cid is None:
                            self.add_problem(
                                check, campaigns.spelling_problem(campaign, line, campaign_label)
                            )
                            campaigns.ids[campaign] = 0
                            continue
                    if cid <= 0:
                        if cid == 0:
                            continue  # a second spelling of a campaign, reported once
                        campaigns.count_missing(cid, month)
                add(line, cid, metric_ids[code], month, value)
                values += 1

        self.stager.finish()
        check.values, check.blanks = values, blanks
        check.campaign_ids = {pk for pk in (campaign_id, *campaigns.ids.values()) if pk and pk > 0}
        check.columns = self._columns(info, lookup, unknown_names)
        check.missing_campaigns = campaigns.missing_list()
        self._after(check, info, campaign_label)
        return check

    def _value_problem(self, info, labels, value_label, line, code, value, is_percent) -> Problem:
        column = labels.get(code, value_label)
        metric = self.metrics[code]
        text = f"{value} %" if is_percent else str(value)
        if is_percent and metric.kind != MetricKind.PERCENT:
            reason = _msg(
                _('"%(value)s" is a percentage, but %(metric)s is not'),
                value=text,
                metric=metric.label,
            )
            return Problem(line, column, text, reason, "unexpected_percent")
        if abs(value) >= ENTRY_LIMIT:
            return Problem(line, column, text, _("This number is too large."), "too_large")
        if metric.kind == MetricKind.MONEY:
            reason = _("An amount cannot be negative.")
        else:
            reason = _("A count cannot be negative.")
        return Problem(line, column, text, reason, "negative")

    def _columns(
        self, info: FileInfo, lookup: HeaderLookup, unknown: dict[str, str]
    ) -> list[ColumnMatch]:
        columns = []
        if info.shape == "wide":
            names = [(header, normalize_header(header)) for _index, header in info.metric_columns]
        else:  # a long file's metric names: as written when known, else the code matched
            names = []
            for key in lookup.asked:
                found = lookup.auto(key)
                code = found.code if found is not None and found.how == HOW_CODE else None
                names.append((unknown.get(key) or code or key, key))
        for header, key in names:
            found, auto = lookup.match(key), lookup.auto(key)
            if found is not None and auto is not None and found.code == auto.code:
                found = auto  # chosen as it was matched anyway: say how it was matched
            columns.append(_column(header, key, found, auto))
        return columns

    def _after(self, check: ImportCheck, info: FileInfo, campaign_label: str | None) -> None:
        options = self.options
        if check.missing_campaigns and not options.create_campaigns:
            for missing in check.missing_campaigns:
                self.add_problem(
                    check,
                    Problem(
                        missing.line,
                        campaign_label,
                        missing.name,
                        _msg(
                            _(
                                '"%(name)s" is not a campaign of this organization (%(rows)s values); '
                                "create it or correct the name"
                            ),
                            name=missing.name,
                            rows=missing.rows,
                        ),
                        "unknown_campaign",
                    ),
                )
        name_length = Campaign._meta.get_field("name").max_length or 0
        for missing in check.missing_campaigns if options.create_campaigns else []:
            if len(missing.name.strip()) > name_length:
                self.add_problem(
                    check,
                    Problem(
                        missing.line,
                        campaign_label,
                        missing.name,
                        _msg(
                            _("A campaign name has at most %(count)s characters."),
                            count=name_length,
                        ),
                        "campaign_name_too_long",
                    ),
                )
        if (
            check.missing_campaigns
            and options.create_campaigns
            and options.new_campaign_channel not in Channel.values
        ):
            self.add_problem(
                check,
                Problem(
                    None,
                    None,
                    None,
                    _("Choose the channel of the campaigns to create."),
                    "channel_required",
                ),
            )
        if check.values == 0 and check.problem_count == 0:
            self.add_problem(
                check,
                Problem(None, None, None, _("The file holds no value to import."), "no_values"),
            )
        for column in check.columns:
            if column.how == "computed":
                check.notices.append(
                    _msg(
                        _('Column "%(header)s" is ignored: kpiboard computes this KPI itself.'),
                        header=column.header,
                    )
                )
        if check.blanks:
            check.notices.append(
                _msg(
                    _("%(count)s empty cells are skipped: a missing value is not a zero."),
                    count=check.blanks,
                )
            )
        check.problems.sort(key=lambda p: (p.line is not None, p.line or 0))


def _column(header: str, key: str, found: Match | None, auto: Match | None) -> ColumnMatch:
    if found is None:
        return ColumnMatch(header, key, None, HOW_UNKNOWN, auto)
    return ColumnMatch(header, key, found.code, found.how, auto)


class _CampaignNames:
    """Campaign names as written in the file -> ids; names the organization lacks get a
    negative id until they are created. Names are matched exactly, then case-insensitively
    (campaign_save keeps names unique that way)."""

    def __init__(self, organization: Organization) -> None:
        self.ids: dict[str, int] = {}
        self.exact: dict[str, int] = {}
        self.folded: dict[str, int] = {}
        for pk, name in Campaign.objects.filter(organization=organization).values_list(
            "pk", "name"
        ):
            self.exact[name] = pk
            self.folded.setdefault(name.strip().casefold(), pk)
        self.missing: dict[str, MissingCampaign] = {}
        self.by_placeholder: dict[int, MissingCampaign] = {}
        self.spelled: dict[int, str] = {}  # id -> the first spelling met

    def resolve(self, name: str, line: int) -> int | None:
        folded = name.casefold()
        pk = self.exact.get(name) or self.folded.get(folded)
        if pk is None:
            missing = self.missing.get(folded)
            if missing is None:
                placeholder = -(len(self.missing) + 1)
                missing = MissingCampaign(name, line, placeholder, date.max)
                self.missing[folded] = missing
                self.by_placeholder[placeholder] = missing
            pk = missing.placeholder
        first = self.spelled.setdefault(pk, name)
        if first != name:
            return None
        self.ids[name] = pk
        return pk

    def spelling_problem(self, name: str, line: int, column: str | None) -> Problem:
        folded = name.casefold()
        pk = self.exact.get(name) or self.folded.get(folded)
        if pk is None:
            pk = self.missing[folded].placeholder
        return Problem(
            line,
            column,
            name,
            _msg(
                _('"%(name)s" and "%(other)s" are the same campaign: write it one way'),
                name=name,
                other=self.spelled[pk],
            ),
            "campaign_spelling",
        )

    def count_missing(self, placeholder: int, month: date) -> None:
        missing = self.by_placeholder[placeholder]
        missing.rows += 1
        if month < missing.first_month:
            missing.first_month = month

    def missing_list(self) -> list[MissingCampaign]:
        return sorted(self.missing.values(), key=lambda m: m.line)


def _diff(check: ImportCheck, stager: Stager, campaign_names: dict[int, str]) -> None:
    check.counts = stager.counts()
    by_id = {m.pk: m for m in check.metrics.values()}

    def diffs(changes: list[StagedChange]) -> list[ValueDiff]:
        return [
            ValueDiff(
                c.line,
                campaign_names.get(c.campaign_id, ""),
                by_id[c.metric_id],
                c.month,
                c.old,
                c.new,
            )
            for c in changes
        ]

    check.updates = diffs(stager.changes(new=False, limit=CHANGE_ROWS))
    check.additions = diffs(stager.changes(new=True, limit=NEW_ROWS))


def _campaign_names(organization: Organization, check: ImportCheck) -> dict[int, str]:
    names = dict(Campaign.objects.filter(organization=organization).values_list("pk", "name"))
    names.update({m.placeholder: m.name for m in check.missing_campaigns})
    return names


def import_check(
    *,
    organization: Organization,
    stream: BinaryIO | IO[bytes],
    filename: str,
    options: ImportOptions,
    max_problems: int | None = MAX_PROBLEMS,
    on_problem: Callable[[Problem], None] | None = None,
) -> ImportCheck:
    """Read and check the whole file; when it is clean, say what applying it would change.

    Writes nothing (the staged values live in a temporary table, dropped on the way out).
    """
    with staging(organization=organization) as stager:
        reader = _Reader(
            organization=organization,
            options=options,
            stager=stager,
            max_problems=max_problems,
            on_problem=on_problem,
        )
        check = reader.read(stream, filename)
        if check.ok:
            _diff(check, stager, _campaign_names(organization, check))
    return check


def _sha256(stream: BinaryIO | IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _describe(batch: ImportBatch, check: ImportCheck) -> None:
    info = check.info
    if info is not None:
        batch.encoding = info.encoding or ""
        batch.delimiter = info.delimiter or ""
        batch.shape = info.shape
        batch.size_bytes = info.size_bytes
    batch.rows = check.values
    batch.error_count = check.problem_count


def import_run(
    *,
    organization: Organization,
    stream: BinaryIO | IO[bytes],
    filename: str,
    options: ImportOptions,
    user: AbstractBaseUser | None,
    batch: ImportBatch | None = None,
    max_problems: int | None = MAX_PROBLEMS,
    on_problem: Callable[[Problem], None] | None = None,
) -> ImportResult:
    """Check the whole file, then write all its values in one transaction, or none.

    The import is recorded either way: *applied* with its counts, or *refused* with the
    number of problems (and nothing else written). ``batch`` is the pending batch of an
    upload; without it (the command line) a batch is created.
    """
    digest = _sha256(stream)
    with staging(organization=organization) as stager:
        reader = _Reader(
            organization=organization,
            options=options,
            stager=stager,
            max_problems=max_problems,
            on_problem=on_problem,
        )
        check = reader.read(stream, filename)
        if not check.ok:
            return ImportResult(check, _refuse(organization, batch, check, filename, digest, user))
        with transaction.atomic():
            batch = _batch_for_apply(organization, batch, filename, digest, user)
            now = timezone.now()
            new_campaigns, created_names = _create_campaigns(organization, check, options)
            _save_aliases(organization, check)
            try:
                counts = stager.apply(
                    organization=organization,
                    batch=batch,
                    user=user,
                    now=now,
                    new_campaigns=new_campaigns,
                    campaign_ids=check.campaign_ids,
                )
            except ChangedMeanwhile:
                raise ImportActionError(
                    str(
                        _(
                            "A campaign or a metric of this file was deleted meanwhile:"
                            " check the file again."
                        )
                    )
                ) from None
            _describe(batch, check)
            batch.created_count = counts.created
            batch.updated_count = counts.updated
            batch.unchanged_count = counts.unchanged
            batch.created_campaigns = created_names
            batch.status = ImportBatch.Status.APPLIED
            batch.applied_at = now
            batch.save()
            ImportFile.objects.filter(batch=batch).delete()
        check.counts = counts
    return ImportResult(check, batch)


def _refuse(organization, batch, check, filename, digest, user) -> ImportBatch:
    with transaction.atomic():
        if batch is None:
            batch = ImportBatch(
                organization=organization, created_by=user, filename=filename[:255], sha256=digest
            )
        else:
            batch = ImportBatch.objects.select_for_update().get(
                pk=batch.pk, organization=organization
            )
            if not batch.can_preview:
                raise ImportActionError(str(_("This import has already been applied.")))
        _describe(batch, check)
        batch.status = ImportBatch.Status.REFUSED
        batch.save()
    return batch


def _batch_for_apply(organization, batch, filename, digest, user) -> ImportBatch:
    if batch is None:
        return ImportBatch.objects.create(
            organization=organization,
            created_by=user,
            filename=filename[:255],
            sha256=digest,
            status=ImportBatch.Status.PENDING,
        )
    # Locked: a second click on "Apply" waits here, then finds the batch applied.
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk, organization=organization)
    if not batch.can_preview:
        raise ImportActionError(str(_("This import has already been applied.")))
    return batch


def _create_campaigns(
    organization: Organization, check: ImportCheck, options: ImportOptions
) -> tuple[dict[int, int], list[str]]:
    """Create the campaigns the file names and the organization lacked (placeholder -> id)."""
    created: dict[int, int] = {}
    names = []
    for missing in check.missing_campaigns:
        existing = (
            Campaign.objects.filter(organization=organization, name__iexact=missing.name.strip())
            .values_list("pk", flat=True)
            .first()
        )
        if existing is not None:  # created meanwhile by someone else
            created[missing.placeholder] = existing
            continue
        try:
            campaign = campaign_save(
                organization=organization,
                name=missing.name,
                channel=options.new_campaign_channel,
                start_date=missing.first_month,
            )
        except ValidationError as error:
            raise ImportActionError(
                str(
                    _msg(
                        _('The campaign "%(name)s" cannot be created: %(error)s'),
                        name=missing.name,
                        error="; ".join(error.messages),
                    )
                )
            ) from error
        created[missing.placeholder] = campaign.pk
        names.append(campaign.name)
    return created, names


def _save_aliases(organization: Organization, check: ImportCheck) -> None:
    """Headers mapped by hand on the preview are understood next time without asking."""
    metrics = check.metrics
    for column in check.columns:
        if column.how != HOW_CHOSEN or not column.code or not column.key:
            continue
        MetricAlias.objects.update_or_create(
            organization=organization,
            normalized=column.key[:120],
            defaults={"metric": metrics[column.code], "alias": column.header[:120]},
        )


# --- The page's steps: upload, choose, apply, undo ----------------------------------------


def imports_cleanup(*, organization: Organization) -> None:
    """Drop uploads nobody applied, and the files of refused ones, after a day."""
    cutoff = timezone.now() - PENDING_KEPT
    ImportBatch.objects.filter(
        organization=organization, status=ImportBatch.Status.PENDING, created_at__lt=cutoff
    ).delete()
    ImportFile.objects.filter(batch__organization=organization, uploaded_at__lt=cutoff).delete()


def import_upload(
    *,
    organization: Organization,
    user: AbstractBaseUser | None,
    upload: Any,
    campaign: Campaign | None = None,
) -> ImportBatch:
    """Keep an uploaded file as a pending batch, to be previewed then applied.

    Raises ParseError when the file cannot be read at all (empty, too large, not a CSV or
    .xlsx, no month column...): there is nothing to preview.
    """
    filename = (getattr(upload, "name", "") or "import").rsplit("/", 1)[-1][:255]
    info = sniff(upload, filename=filename, max_bytes=settings.IMPORT_MAX_BYTES)
    digest = hashlib.sha256()
    chunks = []
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
        chunks.append(chunk)
    if campaign is not None and campaign.organization_id != organization.pk:
        raise ValueError("A campaign of another organization.")
    with transaction.atomic():
        imports_cleanup(organization=organization)
        batch = ImportBatch.objects.create(
            organization=organization,
            created_by=user,
            filename=filename,
            sha256=digest.hexdigest(),
            size_bytes=info.size_bytes,
            encoding=info.encoding or "",
            delimiter=info.delimiter or "",
            shape=info.shape,
            status=ImportBatch.Status.PENDING,
            campaign=campaign,
        )
        ImportFile.objects.create(batch=batch, data=b"".join(chunks))
    return batch


def _stored_file(batch: ImportBatch) -> io.BytesIO:
    data = ImportFile.objects.filter(batch=batch).values_list("data", flat=True).first()
    if data is None:
        raise ImportActionError(str(_("The file is no longer kept: upload it again.")))
    return io.BytesIO(bytes(data))


def import_options_save(
    *, organization: Organization, batch: ImportBatch, options: ImportOptions
) -> ImportBatch:
    """Remember the preview's choices: mapping, campaign, campaigns to create."""
    if batch.organization_id != organization.pk or not batch.can_preview:
        raise ImportActionError(str(_("This import has already been applied.")))
    if (
        options.campaign_id is not None
        and not Campaign.objects.filter(organization=organization, pk=options.campaign_id).exists()
    ):
        raise ValueError("A campaign of another organization.")
    batch.campaign_id = options.campaign_id
    batch.mapping = dict(options.mapping)
    batch.create_campaigns = options.create_campaigns
    batch.new_campaign_channel = options.new_campaign_channel
    batch.save(update_fields=["campaign", "mapping", "create_campaigns", "new_campaign_channel"])
    return batch


def import_preview(*, organization: Organization, batch: ImportBatch) -> ImportCheck:
    """The check of a pending batch's file, with its saved choices."""
    if batch.organization_id != organization.pk:
        raise ValueError("A batch of another organization.")
    return import_check(
        organization=organization,
        stream=_stored_file(batch),
        filename=batch.filename,
        options=ImportOptions.of(batch),
    )


def import_apply(
    *, organization: Organization, batch: ImportBatch, user: AbstractBaseUser | None
) -> ImportResult:
    """Apply a pending batch: every value, or nothing (refused, with its problems)."""
    if batch.organization_id != organization.pk:
        raise ValueError("A batch of another organization.")
    if not batch.can_preview:
        raise ImportActionError(str(_("This import has already been applied.")))
    return import_run(
        organization=organization,
        stream=_stored_file(batch),
        filename=batch.filename,
        options=ImportOptions.of(batch),
        user=user,
        batch=batch,
    )


@dataclass(frozen=True)
class UndoResult:
    restored: int  # values put back as they were before the import (or removed)
    kept: int  # values changed since by someone else: the later change stays


@transaction.atomic
def import_undo(
    *, organization: Organization, batch: ImportBatch, user: AbstractBaseUser | None
) -> UndoResult:
    """Put back every value an import replaced and remove those it added, as one change.

    A value changed since the import (typed, pasted, imported again) keeps that later
    change: undoing the import must not silently overwrite someone's correction. Campaigns
    the import created are kept.
    """
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk, organization=organization)
    if batch.status != ImportBatch.Status.APPLIED:
        raise ImportActionError(str(_("Only an applied import can be undone.")))
    cell = {
        "campaign_id": OuterRef("campaign_id"),
        "metric_id": OuterRef("metric_id"),
        "month": OuterRef("month"),
    }
    changes = ValueChange.objects.filter(organization=organization, import_batch=batch)
    # Values the import added and nobody changed since: their creation is the entry itself
    # (MetricEntry.creation_logged). Those changed since have their creation in `changes`.
    added = MetricEntry.objects.filter(
        organization=organization, import_batch=batch, creation_logged=False
    )
    # Every campaign written to, locked at once and in order before anything is read: the
    # writes below lock them chunk by chunk, which could deadlock with an import meanwhile.
    entries_lock(
        organization=organization,
        campaign_ids={
            *changes.values_list("campaign_id", flat=True).distinct(),
            *added.values_list("campaign_id", flat=True).distinct(),
        },
        metric_ids=(),
    )
    still_imported = Exists(
        MetricEntry.objects.filter(organization=organization, value=OuterRef("new_value"), **cell)
    )
    kept = changes.exclude(still_imported).count()
    batch.undone_at = timezone.now()
    batch.undone_by = user
    batch.status = ImportBatch.Status.UNDONE
    batch.save(update_fields=["undone_at", "undone_by", "status"])
    restored = 0
    for rows in (
        _chunks(changes.filter(still_imported, changed_at__lt=batch.undone_at), "old_value"),
        _chunks(added, None),
    ):
        for chunk in rows:
            entries_write(
                organization=organization,
                writes=[ValueWrite(c, m, month, value) for c, m, month, value in chunk],
                user=user,
                source=Source.IMPORT,
                import_batch=batch,
            )
            restored += len(chunk)
    return UndoResult(restored=restored, kept=kept)


def _chunks(queryset, value_field: str | None) -> Iterator[list[tuple]]:
    """(campaign, metric, month, value to write) by chunks, keyset-paginated on pk, so that
    memory stays bounded whatever the size of the import."""
    last = 0
    while True:
        rows = list(
            queryset.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "campaign_id", "metric_id", "month", value_field or "pk")[
                :UNDO_CHUNK
            ]
        )
        if not rows:
            return
        last = rows[-1][0]
        yield [(c, m, month, value if value_field else None) for _pk, c, m, month, value in rows]
