import zoneinfo
from datetime import datetime, time, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Objective
from metrics.models import KPI

from .models import Comparison, SlideKind, SlidePeriod, Theme
from .services import MAX_DURATION, MIN_DURATION


class BoardForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    theme = forms.ChoiceField(
        label=_("Theme"), choices=Theme.choices, initial=Theme.DARK, widget=forms.RadioSelect
    )


class SlideForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of slide"), choices=SlideKind.choices)
    kpi = forms.ModelChoiceField(
        label=_("KPI"),
        queryset=KPI.objects.none(),
        required=False,  # required for a KPI slide: the service says so
        empty_label="—",
        help_text=_("For a KPI slide."),
    )
    kpis = forms.ModelMultipleChoiceField(
        label=_("Tiles"),
        queryset=KPI.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"}),
        help_text=_("For a wall of tiles: up to 8 KPIs; none ticked shows the followed KPIs."),
    )
    objective = forms.ModelChoiceField(
        label=_("Objective"),
        queryset=Objective.objects.none(),
        required=False,  # required for an objective slide: the service says so
        empty_label="—",
        help_text=_("For an objective slide."),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.none(),
        required=False,
        empty_label=_("All campaigns"),
        help_text=_("For a funnel."),
    )
    period = forms.ChoiceField(
        label=_("Period"), choices=SlidePeriod.choices, initial=SlidePeriod.LAST_MONTH
    )
    period_key = forms.CharField(
        label=_("Fixed period"),
        required=False,
        max_length=20,
        help_text=_("When the period is fixed: 2025-03, 2025-Q1, 2025 or 2025-01..2025-06."),
    )
    comparison = forms.ChoiceField(
        label=_("Comparison"), choices=Comparison.choices, initial=Comparison.PREVIOUS
    )
    duration_seconds = forms.IntegerField(
        label=_("Duration (seconds)"), min_value=MIN_DURATION, max_value=MAX_DURATION, initial=20
    )
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=120,
        help_text=_("Leave empty to use the KPI's, objective's or slide's own name."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        kpis = KPI.objects.filter(organization=organization).order_by("position", "code")
        self.fields["kpi"].queryset = kpis
        self.fields["kpis"].queryset = kpis
        self.fields["objective"].queryset = Objective.objects.filter(
            organization=organization
        ).order_by("deadline", "title")
        self.fields["campaign"].queryset = Campaign.objects.filter(
            organization=organization
        ).order_by("name")


class ShareLinkForm(forms.Form):
    label = forms.CharField(
        label=_("Label"),
        max_length=120,
        required=False,
        help_text=_("Where the screen is, e.g. “Meeting room TV”."),
    )
    expires_on = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Included. Leave empty for a link that stays valid until revoked."),
    )

    def expires_at(self, time_zone: str) -> datetime | None:
        """The end of the chosen day in the organization's time zone."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1), time(0), zoneinfo.ZoneInfo(time_zone))
