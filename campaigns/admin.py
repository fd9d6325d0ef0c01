from django.contrib import admin

from kpiboard.admin import OrganizationDataAdmin

from .models import Campaign, Objective


@admin.register(Campaign)
class CampaignAdmin(OrganizationDataAdmin):
    list_display = ["name", "organization", "channel", "market", "start_date", "end_date", "budget"]
    list_filter = ["organization", "channel"]
    search_fields = ["name", "market"]


@admin.register(Objective)
class ObjectiveAdmin(OrganizationDataAdmin):
    list_display = ["title", "organization", "kpi", "category", "start_date", "deadline"]
    list_filter = ["organization", "category"]
    search_fields = ["title"]
    filter_horizontal = ["campaigns"]
