from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Language, Organization

MONTHS = [(m, _(name)) for m, name in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)]  # fmt: skip


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(
        label=_("Address"), max_length=60, help_text=_("Letters, digits and dashes: /o/<address>/")
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR",
                               help_text=_("ISO 4217 code: EUR, CHF, USD…"))  # fmt: skip
    language = forms.ChoiceField(label=_("Default language"), choices=Language.choices)
    fiscal_year_start_month = forms.TypedChoiceField(
        label=_("Fiscal year starts in"), choices=MONTHS, coerce=int, initial=1
    )

    def clean_slug(self):
        slug = self.cleaned_data["slug"].lower()
        if Organization.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("This address is taken."))
        return slug

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()
