from django.contrib import admin

from .data_version import organization_data_changed
from .models import Membership, Organization
from .services import organization_create


class OrganizationDataAdmin(admin.ModelAdmin):
    """The admin of something the dashboards show: a change moves the organization's data
    version, as the services do, so that pages kept in the cache are rendered again."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        organization_data_changed(organization_id=obj.organization_id)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        organization_data_changed(organization_id=obj.organization_id)

    def delete_queryset(self, request, queryset):
        organization_ids = set(queryset.values_list("organization_id", flat=True))
        super().delete_queryset(request, queryset)
        for organization_id in sorted(organization_ids):
            organization_data_changed(organization_id=organization_id)


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
