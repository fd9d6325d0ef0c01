from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

CODE_REGEX = r"^[a-z][a-z0-9_]{0,39}$"


def pick_label(fr: str, en: str) -> str:
    language = get_language() or "en"
    return fr if language.startswith("fr") else en


def unchecked_key(
    to, *, on_delete=models.CASCADE, related_name: str = "+", db_index: bool = False, **extra
) -> models.ForeignKey:
    """A foreign key the database does not check, for the tables written by the hundred
    thousand (entries, history, derived values): no per-row trigger and, unless asked, no
    index. The writers resolve every id inside the organization; deletions cascade through
    Django (and, for entries and history, statement-level triggers: migration 0004)."""
    return models.ForeignKey(
        to,
        on_delete=on_delete,
        related_name=related_name,
        db_index=db_index,
        db_constraint=False,
        **extra,
    )


class MetricKind(models.TextChoices):
    COUNT = "count", _("Count")
    MONEY = "money", _("Money")
    PERCENT = "percent", _("Percent")
    DURATION = "duration", _("Duration")


class Rollup(models.TextChoices):
    SUM = "sum", _("Sum of the months")
    FIRST = "first", _("First month of the period")
    LAST = "last", _("Last month of the period")


class Metric(models.Model):
    """A raw number measured per campaign and month (visitors, clicks, spend...)."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="metrics"
    )
    code = models.CharField(_("code"), max_length=40)
    label_fr = models.CharField(_("French label"), max_length=120)
    label_en = models.CharField(_("English label"), max_length=120)
    description_fr = models.CharField(_("French description"), max_length=300, blank=True)
    description_en = models.CharField(_("English description"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=MetricKind.choices)
    rollup = models.CharField(_("roll-up over time"), max_length=5, choices=Rollup.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="metric_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=CODE_REGEX), name="metric_code_valid"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in MetricKind]), name="metric_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(rollup__in=[r.value for r in Rollup]), name="metric_rollup_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return pick_label(self.label_fr, self.label_en)

    @property
    def description(self) -> str:
        return pick_label(self.description_fr, self.description_en)

    @property
    def allows_negative(self) -> bool:
        return self.kind == MetricKind.PERCENT


class MetricAlias(models.Model):
    """A column header that means this metric in the files an organization imports."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="metric_aliases"
    )
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(_("header"), max_length=120)
    normalized = models.CharField(max_length=120, editable=False)

    class Meta:
        verbose_name = _("header alias")
        verbose_name_plural = _("header aliases")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "normalized"], name="metric_alias_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.alias


class Unit(models.TextChoices):
    PERCENT = "percent", _("Percent")
    POINTS = "points", _("Points")
    MONEY = "money", _("Money")
    RATIO = "ratio", _("Ratio")
    COUNT = "count", _("Count")
    MONTHS = "months", _("Months")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class Indicator(models.TextChoices):
    LEADING = "leading", _("Leading")
    LAGGING = "lagging", _("Lagging")


class Stage(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    CONSIDERATION = "consideration", _("Consideration")
    CONVERSION = "conversion", _("Conversion")
    LOYALTY = "loyalty", _("Loyalty")
    ADVOCACY = "advocacy", _("Advocacy")


class KPI(models.Model):
    """A formula over metrics, judged against a target."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="kpis"
    )
    code = models.CharField(_("code"), max_length=40)
    label_fr = models.CharField(_("French label"), max_length=120)
    label_en = models.CharField(_("English label"), max_length=120)
    description_fr = models.CharField(_("French description"), max_length=300, blank=True)
    description_en = models.CharField(_("English description"), max_length=300, blank=True)
    formula = models.CharField(_("formula"), max_length=500)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    direction = models.CharField(_("better when"), max_length=6, choices=Direction.choices)
    indicator = models.CharField(_("indicator"), max_length=7, choices=Indicator.choices)
    stage = models.CharField(_("journey stage"), max_length=13, choices=Stage.choices)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=2)
    followed = models.BooleanField(_("shown on the overview"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("KPI")
        verbose_name_plural = _("KPIs")
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="kpi_code_unique"),
            models.CheckConstraint(condition=Q(code__regex=CODE_REGEX), name="kpi_code_valid"),
            models.CheckConstraint(condition=Q(decimals__lte=6), name="kpi_decimals_valid"),
            models.CheckConstraint(
                condition=Q(unit__in=[u.value for u in Unit]), name="kpi_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=[d.value for d in Direction]),
                name="kpi_direction_valid",
            ),
            models.CheckConstraint(
                condition=Q(indicator__in=[i.value for i in Indicator]),
                name="kpi_indicator_valid",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=[s.value for s in Stage]), name="kpi_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return pick_label(self.label_fr, self.label_en)

    @property
    def description(self) -> str:
        return pick_label(self.description_fr, self.description_en)


class Source(models.TextChoices):
    FORM = "form", _("Data entry")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    DEMO = "demo", _("Demo data")


class MetricEntry(models.Model):
    """One value of one metric for one campaign and one month."""

    # An import writes a million of these in one statement, so the table carries only what
    # reads need: no per-row foreign-key trigger (the writers resolve every id inside the
    # organization and lock the campaigns and metrics they write once per write; deletions
    # cascade through Django, and through statement-level triggers for a deleter that did
    # not wait for a running import: migration 0004) and few indexes, each costing about a
    # second per million values written: a campaign's values (the unique constraint), the
    # organization's by month, then metric (the recompute, dashboards, catalog counts), and
    # the additions not yet in the history (entry_unlogged: activity, import page, undo).
    organization = unchecked_key("kpiboard.Organization", related_name="entries")
    campaign = unchecked_key("campaigns.Campaign", related_name="entries")
    metric = unchecked_key(Metric, related_name="entries")
    month = models.DateField(_("month"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6)
    # The metric's kind, copied so the database itself refuses a negative count or amount.
    kind = models.CharField(max_length=10, choices=MetricKind.choices, editable=False)
    version = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.FORM)
    # Who and which import last changed it. An import that wrote values is never deleted
    # but with its organization (imports.admin refuses it), so nothing needs nulling here.
    import_batch = unchecked_key(
        "imports.ImportBatch", on_delete=models.DO_NOTHING, null=True, blank=True
    )
    updated_by = unchecked_key(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    updated_at = models.DateTimeField(_("last changed"))
    # False for a value an import added and nobody has changed since: its creation is not a
    # ValueChange row yet, this entry tells it (updated_by, updated_at, source, import_batch).
    # Whatever changes or deletes the value first writes that row (see creation_change).
    creation_logged = models.BooleanField(default=True, db_default=True)

    class Meta:
        verbose_name = _("metric value")
        verbose_name_plural = _("metric values")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "metric", "month"], name="entry_unique_per_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="entry_month_is_first_day"),
            models.CheckConstraint(
                condition=Q(value__gte=0) | Q(kind=MetricKind.PERCENT),
                name="entry_count_and_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in MetricKind]), name="entry_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "month", "metric"], name="entry_org_month_metric"),
            # The activity page, an import's page and its undo read the additions in order.
            models.Index(
                fields=["organization", "updated_at", "id"],
                condition=Q(creation_logged=False),
                name="entry_unlogged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.campaign_id} {self.month:%Y-%m}: {self.value}"

    def creation_change(self) -> "ValueChange":
        """The history row of this value's creation (unsaved), for an entry whose creation is
        not logged yet: its value, author, time, source and import are the creation's."""
        change = ValueChange(
            organization_id=self.organization_id,
            campaign_id=self.campaign_id,
            metric_id=self.metric_id,
            month=self.month,
            old_value=None,
            new_value=self.value,
            changed_by_id=self.updated_by_id,
            changed_at=self.updated_at,
            source=self.source,
            import_batch_id=self.import_batch_id,
        )
        for name, change_name in _CREATION_RELATIONS:  # what the entry was read with
            if self._meta.get_field(name).is_cached(self):
                setattr(change, change_name, getattr(self, name))
        return change


_CREATION_RELATIONS = (
    ("campaign", "campaign"),
    ("metric", "metric"),
    ("updated_by", "changed_by"),
    ("import_batch", "import_batch"),
)


class ValueChange(models.Model):
    """History: every change to a metric value, whatever its source.

    One exception, for speed: the creation of a value an import added is written here only
    when the value first changes; until then MetricEntry.creation_change() gives it. The
    selectors (metrics.entry_selectors, imports.selectors) show both.
    """

    # Written by the million too when an import replaces values: no foreign-key trigger (see
    # MetricEntry), and only the indexes reads use: the activity (change_org_time), a cell
    # (change_cell), an import's changes and its undo (import_batch).
    organization = unchecked_key("kpiboard.Organization", related_name="value_changes")
    campaign = unchecked_key("campaigns.Campaign")
    metric = unchecked_key(Metric)
    month = models.DateField()
    old_value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    new_value = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    changed_by = unchecked_key(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=6, choices=Source.choices)
    import_batch = unchecked_key(
        "imports.ImportBatch", null=True, related_name="changes", db_index=True
    )

    class Meta:
        verbose_name = _("value change")
        verbose_name_plural = _("value changes")
        indexes = [
            models.Index(fields=["organization", "-changed_at"], name="change_org_time"),
            models.Index(fields=["campaign", "metric", "month"], name="change_cell"),
        ]


class Grain(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    FISCAL_QUARTER = "fiscal_quarter", _("Fiscal quarter")
    FISCAL_YEAR = "fiscal_year", _("Fiscal year")


class MetricAggregate(models.Model):
    """A metric rolled up over a channel or all campaigns and a period, materialized by the
    recompute. A campaign's own months are its entries; its longer periods are rolled up
    from them when needed (at most a year of one campaign's rows).

    scope is "all" or "channel:<channel>".
    """

    # The key is the primary key: a surrogate id would be one more index to write.
    pk = models.CompositePrimaryKey(
        "organization_id", "scope", "grain", "period_start", "metric_id"
    )
    organization = unchecked_key("kpiboard.Organization")
    metric = unchecked_key(Metric)
    scope = models.CharField(max_length=40)
    grain = models.CharField(max_length=14, choices=Grain.choices)
    period_start = models.DateField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    inputs_changed_at = models.DateTimeField()


class KPIValue(models.Model):
    """A KPI computed for a scope and a period. Pages read these, never the entries."""

    # Few indexes and no foreign-key triggers on purpose: a full recompute writes hundreds of
    # thousands of these derived rows. Deletions still cascade, through Django. The primary
    # key (no surrogate id) serves reads by period, the series index reads by KPI.
    pk = models.CompositePrimaryKey("organization_id", "scope", "grain", "period_start", "kpi_id")
    organization = unchecked_key("kpiboard.Organization")
    kpi = unchecked_key(KPI, related_name="values")
    scope = models.CharField(max_length=40)
    campaign = unchecked_key("campaigns.Campaign", null=True)
    grain = models.CharField(max_length=14, choices=Grain.choices)
    period_start = models.DateField()
    value = models.DecimalField(max_digits=30, decimal_places=10, null=True)
    # The database's clock when the row is written (PostgreSQL: the statement's start, after
    # the inputs were read): not one more value to send and parse per row.
    computed_at = models.DateTimeField(db_default=Now())
    inputs_changed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["kpi", "scope", "grain", "period_start"], name="kpi_value_series")
        ]


class StaleMark(models.Model):
    """What a change touched and the recompute has not yet caught up with.

    Written in the same transaction as the change; deleted by the recompute that covered it;
    anything left behind (a lost message, a killed worker) is swept up by Celery beat.
    A mark with a campaign and a month: that campaign-month's entries changed.
    A mark with a KPI only: that KPI's formula changed. A mark with nothing: rebuild all.
    """

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, null=True, related_name="+"
    )
    month = models.DateField(null=True)
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "created_at"], name="stale_org_time")]


class Target(models.Model):
    """The value a KPI should reach in a month, for all campaigns or for one."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="targets"
    )
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="targets")
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="targets",
    )
    month = models.DateField(_("month"))
    value = models.DecimalField(_("target"), max_digits=20, decimal_places=6)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "month"],
                condition=Q(campaign__isnull=True),
                name="target_unique_all",
            ),
            models.UniqueConstraint(
                fields=["kpi", "campaign", "month"],
                condition=Q(campaign__isnull=False),
                name="target_unique_campaign",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="target_month_is_first_day"),
        ]


class Benchmark(models.Model):
    """A reference value for a KPI: a sector average, a competitor, a published figure."""

    organization = models.ForeignKey(
        "kpiboard.Organization", on_delete=models.CASCADE, related_name="benchmarks"
    )
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="benchmarks")
    label = models.CharField(_("label"), max_length=120)
    source = models.CharField(_("source"), max_length=200, blank=True)
    period_start = models.DateField(_("valid from"))
    period_end = models.DateField(_("valid until"), null=True, blank=True)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6)

    class Meta:
        verbose_name = _("benchmark")
        verbose_name_plural = _("benchmarks")
        ordering = ["kpi", "label", "period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_end__gte=models.F("period_start")),
                name="benchmark_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.label
