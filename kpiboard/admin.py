from django.contrib import admin

from .data_version import organization_data_changed
from .models import Membership, Organization
from .services import organization_create


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "language", "fiscal_year_start_month"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            # Currency, language, fiscal year, thresholds: every page shows them.
            organization_data_changed(organization_id=obj.pk)
            return
        # A new organization gets the standard catalog: the same service as everywhere.
        created = organization_create(
            name=obj.name,
            slug=obj.slug,
            currency=obj.currency,
            language=obj.language,
            time_zone=obj.time_zone,
            fiscal_year_start_month=obj.fiscal_year_start_month,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db
