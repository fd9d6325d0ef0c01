from django.contrib import admin

from .models import Campaign, Objective


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "channel", "market", "start_date", "end_date", "budget"]
    list_filter = ["organization", "channel"]
    search_fields = ["name", "market"]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "kpi", "category", "start_date", "deadline"]
    list_filter = ["organization", "category"]
    search_fields = ["title"]
    filter_horizontal = ["campaigns"]
