from django.contrib import admin

from kpiboard.admin import OrganizationDataAdmin

from .models import KPI, Benchmark, Metric, MetricAlias, Target


@admin.register(Metric)
class MetricAdmin(OrganizationDataAdmin):
    list_display = ["code", "label_en", "label_fr", "organization", "kind", "rollup"]
    list_filter = ["organization", "kind", "rollup"]
    search_fields = ["code", "label_en", "label_fr"]


@admin.register(MetricAlias)
class MetricAliasAdmin(admin.ModelAdmin):
    list_display = ["alias", "metric", "organization"]
    list_filter = ["organization"]


@admin.register(KPI)
class KPIAdmin(OrganizationDataAdmin):
    list_display = ["code", "label_en", "organization", "formula", "unit", "direction"]
    list_filter = ["organization", "unit", "stage", "indicator"]
    search_fields = ["code", "label_en", "label_fr"]


@admin.register(Target)
class TargetAdmin(OrganizationDataAdmin):
    list_display = ["kpi", "campaign", "month", "value"]
    list_filter = ["organization"]


@admin.register(Benchmark)
class BenchmarkAdmin(OrganizationDataAdmin):
    list_display = ["label", "kpi", "value", "period_start", "period_end"]
    list_filter = ["organization"]
