"""The benchmark form: what an admin types; services.benchmark_save decides."""

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.forms import DecimalTextField, MonthField


class BenchmarkForm(forms.Form):
    label = forms.CharField(
        label=_("Name"),
        max_length=120,
        help_text=_("Sector average, a competitor, a published figure…"),
    )
    value = DecimalTextField(label=_("Value"))
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        required=False,
        help_text=_("Where the figure comes from: a study, a report, a website."),
    )
    period_start = MonthField(label=_("Valid from"))
    period_end = MonthField(
        label=_("Valid until"), required=False, help_text=_("Leave empty if still valid.")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The end comes before the start."))
        return data
