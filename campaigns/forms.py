"""Forms for campaigns and objectives. They read and check what was typed; the services
decide what may be written."""

from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import format_decimal
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from imports.parsing import parse_month, parse_number
from kpiboard.formatting import locale_name, person_name
from kpiboard.models import Organization
from metrics.models import KPI
from metrics.periods import add_months, month_start

from .models import Campaign, Channel, Objective, ObjectiveCategory, TargetKind


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names, the rest on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class NumberInput(forms.TextInput):
    """A text box for numbers as people type them: "1 234,56" in French, "1,234.56" in English.

    A text input, not type=number: browsers refuse a decimal comma in type=number under an
    English locale and show nothing of what was typed.
    """

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class DecimalTextField(forms.CharField):
    """A Decimal typed with the reader's decimal separator; spaces, € and % are tolerated."""

    widget = NumberInput
    default_error_messages = {
        "invalid": _("Enter a number, such as %(example)s."),
        "min_value": _("Enter a number of at least %(limit)s."),
    }

    def __init__(self, *, min_value: Decimal | None = None, **kwargs):
        self.min_value = min_value
        super().__init__(strip=True, **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        separator = "," if (get_language() or "en").startswith("fr") else "."
        try:
            number = parse_number(text, decimal_separator=separator)
        except ValueError:
            number = None
        if number is None or not number.is_finite():
            example = "4,5" if separator == "," else "4.5"
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"example": example}
            )
        return number

    def validate(self, value):
        super().validate(value)
        if value is not None and self.min_value is not None and value < self.min_value:
            raise forms.ValidationError(
                self.error_messages["min_value"], code="min_value", params={"limit": self.min_value}
            )

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return decimal_text(value)
        return value


def decimal_text(value: Decimal, decimals: int = 6, *, keep_zeros: bool = False) -> str:
    """A number in the reader's language, without grouping; trailing zeros dropped unless
    ``keep_zeros`` (a value shown to the KPI's decimals: "4.00")."""
    pattern = "0." + ("0" if keep_zeros else "#") * decimals if decimals else "0"
    return format_decimal(value, format=pattern, locale=locale_name())


class MonthInput(forms.TextInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, date):
            return f"{value:%Y-%m}"
        return super().format_value(value)


class MonthField(forms.CharField):
    """A month: "2025-01" (what a month picker sends), "01/2025", "janv. 2025", "Jan 2025"."""

    widget = MonthInput
    default_error_messages = {"invalid": _("Enter a month, such as 2025-01.")}

    def to_python(self, value):
        if isinstance(value, date):
            return month_start(value)
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_month(text)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CheckboxList(forms.CheckboxSelectMultiple):
    """Checkboxes in columns (styled by .checkbox-list in forms.css)."""

    def __init__(self, attrs=None):
        super().__init__({"class": "checkbox-list", **(attrs or {})})


class Inline(forms.RadioSelect):
    def __init__(self, attrs=None):
        super().__init__({"class": "radio-inline", **(attrs or {})})


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    market = forms.CharField(
        label=_("Market / region"),
        max_length=80,
        required=False,
        help_text=_("A country, a region or a segment: France, Romandie, 25–34 year-olds…"),
        widget=forms.TextInput(attrs={"list": "markets", "autocomplete": "off"}),
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput)
    end_date = forms.DateField(
        label=_("End"), required=False, widget=DateInput, help_text=_("Leave empty if ongoing.")
    )
    budget = DecimalTextField(label=_("Budget"), min_value=Decimal(0))
    objectives = forms.ModelMultipleChoiceField(
        label=_("Objectives it serves"),
        queryset=Objective.objects.none(),
        required=False,
        widget=CheckboxList,
    )
    fingerprint = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["objectives"].queryset = Objective.objects.filter(
            organization=organization
        ).order_by("deadline", "title")
        self.fields["budget"].help_text = _("In %(currency)s.") % {
            "currency": organization.currency
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end comes before the start."))
        return data

    @staticmethod
    def initial_for(campaign: Campaign) -> dict:
        return {
            "name": campaign.name,
            "channel": campaign.channel,
            "market": campaign.market,
            "start_date": campaign.start_date,
            "end_date": campaign.end_date,
            "budget": campaign.budget,
            "objectives": list(campaign.objectives.values_list("pk", flat=True)),
        }


class KPIChoiceField(forms.ModelChoiceField):
    """KPIs by their label, in the person's language; the code only tells apart two KPIs
    whose labels are the same."""

    def label_from_instance(self, obj: KPI) -> str:
        labels = [kpi.label for kpi in self.queryset]  # read once: the queryset is cached
        return f"{obj.label} ({obj.code})" if labels.count(obj.label) > 1 else obj.label


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return person_name(obj)


class ObjectiveForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("What, in words: “Raise online cake sales by 20 % by June”."),
    )
    kpi = KPIChoiceField(label=_("KPI"), queryset=KPI.objects.none(), empty_label="—")
    category = forms.ChoiceField(
        label=_("Category"), choices=ObjectiveCategory.choices, widget=Inline
    )
    campaigns = forms.ModelMultipleChoiceField(
        label=_("Campaigns"),
        queryset=Campaign.objects.none(),
        required=False,
        widget=CheckboxList,
        help_text=_("None: the objective is measured on all campaigns."),
    )
    baseline_start = MonthField(label=_("Baseline from"))
    baseline_end = MonthField(label=_("Baseline to"))
    baseline_value = DecimalTextField(
        label=_("Baseline"),
        help_text=_("Taken from the history of the baseline period; you can type another value."),
    )
    target_kind = forms.ChoiceField(
        label=_("Target type"), choices=TargetKind.choices, widget=Inline
    )
    target_value = DecimalTextField(
        label=_("Target"),
        help_text=_("The value to reach, or the change in % from the baseline (20 for +20 %)."),
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput)
    deadline = forms.DateField(label=_("Deadline"), widget=DateInput)
    owner = OwnerChoiceField(
        label=_("Owner"), queryset=get_user_model().objects.none(), required=False
    )
    description = forms.CharField(
        label=_("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why it matters, how it will be reached."),
    )
    fingerprint = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["kpi"].queryset = KPI.objects.filter(organization=organization)
        self.fields["campaigns"].queryset = Campaign.objects.filter(
            organization=organization
        ).order_by("name")
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(memberships__organization=organization)
            .order_by("first_name", "last_name", "username")
        )

    def clean(self):
        data = super().clean()
        first, last = data.get("baseline_start"), data.get("baseline_end")
        if first and last and last < first:
            self.add_error("baseline_end", _("The baseline period ends before it starts."))
        start, deadline = data.get("start_date"), data.get("deadline")
        if start and deadline and deadline <= start:
            self.add_error("deadline", _("The deadline must come after the start."))
        kind, target = data.get("target_kind"), data.get("target_value")
        if kind == TargetKind.RELATIVE and target is not None and target < -100:
            self.add_error("target_value", _("A change below −100 % would make the KPI negative."))
        return data

    @staticmethod
    def initial_for(objective: Objective) -> dict:
        return {
            "title": objective.title,
            "description": objective.description,
            "kpi": objective.kpi_id,
            "category": objective.category,
            "campaigns": list(objective.campaigns.values_list("pk", flat=True)),
            "baseline_start": objective.baseline_start,
            "baseline_end": objective.baseline_end,
            "baseline_value": objective.baseline_value,
            "target_kind": objective.target_kind,
            "target_value": objective.target_value,
            "start_date": objective.start_date,
            "deadline": objective.deadline,
            "owner": objective.owner_id,
        }

    @staticmethod
    def initial_new(today: date, user) -> dict:
        """A quarter from next month, measured against the last three months."""
        start = add_months(month_start(today), 1)
        return {
            "start_date": start,
            "deadline": add_months(start, 3) - timedelta(days=1),
            "baseline_start": add_months(start, -3),
            "baseline_end": add_months(start, -1),
            "target_kind": TargetKind.ABSOLUTE,
            "owner": user.pk,
        }
