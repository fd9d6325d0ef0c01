"""Forms of the members page: add someone by username or e-mail, change a role."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Role


class MemberAddForm(forms.Form):
    identifier = forms.CharField(
        label=_("Username or e-mail"),
        max_length=254,
        help_text=_("The person needs an account already."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
