"""Forms of the data-entry pages: a typed cell, a pasted block, a target, activity filters.

Numbers are read the way people type them (imports.parsing): "1 234,5" and "1,234.5" both
work; "1,234" is read with the person's language (1.234 in French, 1234 in English).
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from imports.parsing import CellError, parse_number_cell
from kpiboard import formatting
from kpiboard.models import Organization

from .models import KPI, Metric, MetricKind, Source
from .services import entry_value_check

MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
PASTE_MAX_CHARS = 200_000
# Decimal evidence in a pasted block: "12,50", "0,1234", "1.234,5" (and the English mirror).
# Three digits after the mark alone ("1,234") prove nothing.
COMMA_DECIMAL_RE = re.compile(r"[0-9],(?:[0-9]{1,2}|[0-9]{4,})(?![0-9])|[0-9]\.[0-9]{3},[0-9]")
POINT_DECIMAL_RE = re.compile(r"[0-9]\.(?:[0-9]{1,2}|[0-9]{4,})(?![0-9])|[0-9],[0-9]{3}\.[0-9]")


def language_separator(language: str | None = None) -> str:
    """The decimal separator people of this language type."""
    return "," if (language or get_language() or "en").startswith("fr") else "."


def block_separator(texts: list[str], language: str | None = None) -> str:
    """The decimal separator of a pasted block: what its numbers show, else the language's."""
    comma = sum(bool(COMMA_DECIMAL_RE.search(t)) for t in texts)
    point = sum(bool(POINT_DECIMAL_RE.search(t)) for t in texts)
    if comma != point:
        return "," if comma > point else "."
    return language_separator(language)


def _number_error(error: CellError, text: str, decimal_separator: str) -> ValidationError:
    """What a typed value that is not a number gets: what was typed, and an example with the
    separator expected; other reasons (an ambiguous "1,234") as the reader gives them."""
    if error.code == "not_a_number":
        example = "4,5" if decimal_separator == "," else "4.5"
        return ValidationError(
            _('"%(value)s" is not a number: type one such as %(example)s.'),
            code=error.code,
            params={"value": text.strip(), "example": example},
        )
    return ValidationError(str(error.reason), code=error.code)


def read_value(text: str, *, metric: Metric, decimal_separator: str) -> Decimal | None:
    """A typed or pasted value for a metric; None when empty. ValidationError says why not."""
    try:
        number = parse_number_cell(text, decimal_separator=decimal_separator)
    except CellError as error:
        raise _number_error(error, text, decimal_separator) from None
    if number is None:
        return None
    if number.is_percent and metric.kind != MetricKind.PERCENT:
        raise ValidationError(_("Only a percentage takes a % sign."), code="percent")
    return entry_value_check(metric=metric, value=number.value)


def month_from_key(text: str) -> date | None:
    match = MONTH_RE.fullmatch(text or "")
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1900 <= year <= 2999 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


class MonthField(forms.CharField):
    """A month as "YYYY-MM" (hidden fields of the grid)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        month = month_from_key(value)
        if month is None:
            raise ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        return month


class EntryCellForm(forms.Form):
    """One grid cell: where it is, the version its value had when shown, what was typed."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none())
    metric = forms.ModelChoiceField(queryset=Metric.objects.none())
    month = MonthField()
    version = forms.IntegerField(min_value=0)
    # In a conflict, "overwrite" saves over the version that refused the first save.
    current_version = forms.IntegerField(min_value=0, required=False)
    resolve = forms.ChoiceField(
        choices=[("", ""), ("theirs", "theirs"), ("overwrite", "overwrite")], required=False
    )
    value = forms.CharField(required=False, strip=False, max_length=100)

    def __init__(self, *args, organization: Organization, language: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)
        self.fields["metric"].queryset = Metric.objects.filter(organization=organization)

    @property
    def misplaced(self) -> bool:
        """The cell itself is unknown (not the person's typing): a bad request."""
        return bool(set(self.errors) - {"value"})

    def clean(self):
        data = super().clean()
        metric = data.get("metric")
        if metric is not None and "value" in data and data.get("resolve") != "theirs":
            try:
                data["number"] = read_value(
                    data["value"],
                    metric=metric,
                    decimal_separator=language_separator(self.language),
                )
            except ValidationError as error:
                self.add_error("value", error)
        return data


@dataclass
class BlockCell:
    metric: Metric
    month: date
    text: str
    value: Decimal | None = None
    error: str = ""


@dataclass
class Block:
    rows: int
    columns: int
    cells: list[BlockCell]

    @property
    def errors(self) -> list[BlockCell]:
        return [c for c in self.cells if c.error]


def split_block(text: str) -> list[list[str]]:
    """Rows of cells of a block copied from a spreadsheet (tab-separated, quoted when a cell
    holds a tab or a line break); trailing empty lines dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    rows = [list(row) for row in csv.reader(io.StringIO(text), delimiter="\t", quotechar='"')]
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return rows


def read_block(
    text: str,
    *,
    metrics: list[Metric],
    months: list[date],
    language: str | None = None,
) -> Block:
    """Place a pasted block from the first metric and month given, and read every cell.

    A block wider or taller than what remains of the grid raises ValidationError; a cell
    that is not a number for its metric gets its error (the block is still returned whole).
    An empty pasted cell empties the grid's cell, as in a spreadsheet.
    """
    rows = split_block(text)
    if not rows:
        raise ValidationError(_("The pasted text holds no value."), code="empty")
    width = max(len(row) for row in rows)
    if len(rows) > len(metrics):
        raise ValidationError(
            _(
                "The block has %(rows)s rows but only %(left)s metrics remain from “%(metric)s”: "
                "nothing was pasted."
            )
            % {"rows": len(rows), "left": len(metrics), "metric": metrics[0].label},
            code="too_tall",
        )
    if width > len(months):
        raise ValidationError(
            _(
                "The block has %(columns)s columns but only %(left)s months remain from "
                "%(month)s to December: nothing was pasted."
            )
            % {"columns": width, "left": len(months), "month": formatting.month(months[0])},
            code="too_wide",
        )
    separator = block_separator([cell for row in rows for cell in row], language)
    cells = []
    for metric, row in zip(metrics, rows, strict=False):
        for month, raw in zip(months, row, strict=False):
            cell = BlockCell(metric=metric, month=month, text=raw.strip())
            try:
                cell.value = read_value(raw, metric=metric, decimal_separator=separator)
            except ValidationError as error:
                cell.error = error.messages[0]
            cells.append(cell)
    return Block(rows=len(rows), columns=width, cells=cells)


class PasteForm(forms.Form):
    """A block pasted into the grid from a cell (its metric and month): checked, then saved."""

    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none())
    metric = forms.ModelChoiceField(queryset=Metric.objects.none())
    month = MonthField()
    text = forms.CharField(strip=False, max_length=PASTE_MAX_CHARS)
    step = forms.ChoiceField(choices=[("check", "check"), ("save", "save")], required=False)
    # "metric_id:YYYY-MM:version" of the block's cells when the preview was shown.
    seen = forms.CharField(required=False, max_length=PASTE_MAX_CHARS)

    def __init__(self, *args, organization: Organization, language: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.organization = organization
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)
        self.fields["metric"].queryset = Metric.objects.filter(organization=organization)

    @property
    def misplaced(self) -> bool:
        return bool(set(self.errors) - {"text", "__all__"})

    def clean(self):
        data = super().clean()
        start, month = data.get("metric"), data.get("month")
        if start is None or month is None or "text" not in data:
            return data
        metrics = list(Metric.objects.filter(organization=self.organization))
        metrics.sort(key=lambda m: (m.position, m.code))
        below = metrics[metrics.index(start) :]
        months = [date(month.year, m, 1) for m in range(month.month, 13)]
        data["block"] = read_block(
            data["text"], metrics=below, months=months, language=self.language
        )
        return data

    def seen_versions(self) -> dict[tuple[int, date], int]:
        seen = {}
        for item in (self.cleaned_data.get("seen") or "").split(";"):
            parts = item.split(":")
            if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
                continue
            month = month_from_key(parts[1])
            if month is not None:
                seen[(int(parts[0]), month)] = int(parts[2])
        return seen


def read_target(text: str, *, kpi: KPI, decimal_separator: str) -> Decimal | None:
    try:
        number = parse_number_cell(text, decimal_separator=decimal_separator)
    except CellError as error:
        raise _number_error(error, text, decimal_separator) from None
    if number is None:
        return None
    if number.is_percent and kpi.unit != "percent":
        raise ValidationError(_("Only a percentage takes a % sign."), code="percent")
    return number.value


def decimal_or_none(text: str) -> Decimal | None:
    """A value sent back by the page in canonical form ("4.5"), "" for none."""
    try:
        return Decimal(text) if text else None
    except ArithmeticError:
        raise ValidationError(_("Enter a number."), code="invalid") from None


class TargetCellForm(forms.Form):
    """One cell of the targets grid; ``expected`` is the target shown when the page loaded."""

    kpi = forms.ModelChoiceField(queryset=KPI.objects.none())
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), required=False)
    month = MonthField()
    expected = forms.CharField(required=False, max_length=40)
    current = forms.CharField(required=False, max_length=40)
    resolve = forms.ChoiceField(
        choices=[("", ""), ("theirs", "theirs"), ("overwrite", "overwrite")], required=False
    )
    value = forms.CharField(required=False, strip=False, max_length=100)

    def __init__(self, *args, organization: Organization, language: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language
        self.fields["kpi"].queryset = KPI.objects.filter(organization=organization)
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)

    @property
    def misplaced(self) -> bool:
        return bool(set(self.errors) - {"value"})

    def clean_expected(self):
        return decimal_or_none(self.cleaned_data["expected"])

    def clean_current(self):
        return decimal_or_none(self.cleaned_data["current"])

    def clean(self):
        data = super().clean()
        kpi = data.get("kpi")
        if kpi is not None and "value" in data and data.get("resolve") != "theirs":
            try:
                data["number"] = read_target(
                    data["value"], kpi=kpi, decimal_separator=language_separator(self.language)
                )
            except ValidationError as error:
                self.add_error("value", error)
        return data


class ActivityFilterForm(forms.Form):
    person = forms.TypedChoiceField(label=_("Person"), coerce=int, required=False)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.none(),
        required=False,
        empty_label=_("All campaigns"),
    )
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(self, *args, organization: Organization, people: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", _("Everyone"))] + [
            (p.pk, formatting.person_name(p)) for p in people
        ]
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)
        self.fields["source"].choices = [("", _("All sources")), *Source.choices]
