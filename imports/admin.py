from django.contrib import admin

from .models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["filename", "organization", "created_by", "created_at", "status", "rows"]
    list_filter = ["organization", "status"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        # An import that wrote values is their record (and their undo): it goes only with
        # its organization. MetricEntry.import_batch relies on it (no constraint, no nulling).
        return obj is not None and obj.can_preview and super().has_delete_permission(request, obj)
