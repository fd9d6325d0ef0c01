"""Forms for the admins' catalog pages: metrics (with their import headers) and KPIs."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .models import CODE_REGEX, KPI, Direction, Indicator, Metric, MetricKind, Rollup, Stage, Unit

code_validator = RegexValidator(
    CODE_REGEX,
    _("Lower-case letters, digits and _ only, starting with a letter (40 at most)."),
)


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("Code"),
            max_length=40,
            validators=[code_validator],
            widget=forms.TextInput(
                attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
            ),
            **kwargs,
        )

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().lower() if isinstance(value, str) else value


class CatalogItemForm(forms.Form):
    """What metrics and KPIs share: a code and labels in both languages."""

    code = CodeField(help_text=_("Used in formulas and matched by import headers."))
    label_fr = forms.CharField(label=_("French label"), max_length=120)
    label_en = forms.CharField(label=_("English label"), max_length=120)
    description_fr = forms.CharField(label=_("French description"), max_length=300, required=False)
    description_en = forms.CharField(label=_("English description"), max_length=300, required=False)
    fingerprint = forms.CharField(required=False, widget=forms.HiddenInput)

    def lock_code(self, users: list[KPI]) -> None:
        """A code used by formulas stays as it is: show it, do not let it be typed over."""
        field = self.fields["code"]
        field.disabled = True
        field.help_text = _("Used by the formula of %(kpis)s: it cannot change.") % {
            "kpis": ", ".join(k.code for k in users)
        }


class MetricForm(CatalogItemForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=MetricKind.choices)
    rollup = forms.ChoiceField(
        label=_("Roll-up over time"),
        choices=Rollup.choices,
        help_text=_("How months add up to a quarter or a year: followers take the last month."),
    )
    aliases = forms.CharField(
        label=_("Import headers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Other column names that mean this metric in imported files, one per line "
            "(“Impr.”, “Amount spent”…). Case, accents and spacing do not matter."
        ),
    )

    def clean_aliases(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["aliases"].splitlines() if line.strip()]

    @staticmethod
    def initial_for(metric: Metric) -> dict:
        return {
            "code": metric.code,
            "label_fr": metric.label_fr,
            "label_en": metric.label_en,
            "description_fr": metric.description_fr,
            "description_en": metric.description_en,
            "kind": metric.kind,
            "rollup": metric.rollup,
            "aliases": "\n".join(a.alias for a in metric.aliases.order_by("alias")),
        }


KPI_INITIAL_FIELDS = (
    "code", "label_fr", "label_en", "description_fr", "description_en", "formula", "unit",
    "decimals", "direction", "indicator", "stage", "followed",
)  # fmt: skip


class KPIForm(CatalogItemForm):
    formula = forms.CharField(
        label=_("Formula"),
        max_length=500,
        widget=forms.TextInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_(
            "Metric and KPI codes with + − × / and parentheses, e.g. conversions / visitors * 100. "
            "“months” is the number of months of the period."
        ),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices)
    decimals = forms.IntegerField(label=_("Decimals shown"), min_value=0, max_value=6, initial=2)
    direction = forms.ChoiceField(
        label=_("Better when"),
        choices=Direction.choices,
        widget=forms.RadioSelect(attrs={"class": "radio-inline"}),
    )
    indicator = forms.ChoiceField(
        label=_("Indicator"),
        choices=Indicator.choices,
        widget=forms.RadioSelect(attrs={"class": "radio-inline"}),
        help_text=_("Leading indicators announce what lagging ones will show."),
    )
    stage = forms.ChoiceField(label=_("Journey stage"), choices=Stage.choices)
    followed = forms.BooleanField(label=_("Shown on the overview"), required=False)

    def enable_live_check(self, url: str) -> None:
        """Check the formula as it is typed: the result replaces #formula-check."""
        self.fields["formula"].widget.attrs.update(
            {
                "hx-get": url,
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#formula-check",
                "hx-swap": "outerHTML",
                "hx-include": "#id_code",
                "hx-sync": "this:replace",
                "aria-describedby": "id_formula_helptext formula-check",
            }
        )

    @staticmethod
    def initial_for(kpi: KPI) -> dict:
        return {name: getattr(kpi, name) for name in KPI_INITIAL_FIELDS}
