from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Channel

from .services import ImportOptions

# The preview's mapping selects are named MAP_PREFIX + normalize_header(header).
MAP_PREFIX = "map:"
NOT_MATCHED = "?"
IGNORE = "-"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the check says so, in the words it uses for every file
        help_text=_("CSV (any delimiter, French or English numbers) or Excel .xlsx."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"),
        queryset=Campaign.objects.none(),
        required=False,
        empty_label=_("— named in the file —"),
        help_text=_("Only for a file without a campaign column: its values all go there."),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)


class OptionsForm(forms.Form):
    """The preview's choices. The mapping selects are read straight from the data: their
    names carry the header they map (see MAP_PREFIX)."""

    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )
    create_campaigns = forms.BooleanField(label=_("Create these campaigns"), required=False)
    new_campaign_channel = forms.ChoiceField(
        label=_("Channel of the new campaigns"),
        choices=[("", "—"), *Channel.choices],
        required=False,
    )

    def __init__(self, *args, organization, metric_codes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.filter(organization=organization)
        self.metric_codes = set(metric_codes)

    def clean(self):
        cleaned = super().clean()
        mapping = {}
        for name, value in self.data.items():
            if not name.startswith(MAP_PREFIX):
                continue
            key = name.removeprefix(MAP_PREFIX)
            if not key or len(key) > 120 or value == NOT_MATCHED:
                continue
            if value == IGNORE:
                mapping[key] = ""
            elif value in self.metric_codes:
                mapping[key] = value
        cleaned["mapping"] = mapping
        return cleaned

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        campaign = data.get("campaign")
        return ImportOptions(
            campaign_id=campaign.pk if campaign else None,
            mapping=data["mapping"],
            create_campaigns=data.get("create_campaigns", False),
            new_campaign_channel=data.get("new_campaign_channel") or "",
        )
