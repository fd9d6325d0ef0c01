from django.contrib import admin

from .models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["filename", "organization", "created_by", "created_at", "status", "rows"]
    list_filter = ["organization", "status"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]
