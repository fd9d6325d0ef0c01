import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Entries and their history no longer carry foreign-key constraints (a per-row trigger each,
# seconds for an import of a million values). The writers check and lock the campaigns and
# metrics they write once per write (metrics.services, imports.staging), and Django's
# on_delete cascades delete the rows of a deleted campaign, metric or organization. These
# statement-level triggers finish a cascade for a deleter that collected the rows before an
# import holding those parents committed (the Django admin deletes without locking first):
# the set-based counterpart of the constraint's own check, run once per DELETE statement.
CASCADES = {  # parent table: the column naming it, and its organization column if any
    "campaigns_campaign": ("campaign_id",),
    "metrics_metric": ("metric_id", "organization_id"),  # no index by metric alone
    "kpiboard_organization": ("organization_id",),
}
CASCADE_FUNCTION = """
CREATE FUNCTION metrics_values_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    scope text := CASE WHEN TG_NARGS > 1
        THEN format(' AND x.organization_id = g.%I', TG_ARGV[1]) ELSE '' END;
BEGIN
    EXECUTE format('DELETE FROM metrics_metricentry x USING gone g WHERE x.%I = g.id',
                   TG_ARGV[0]) || scope;
    EXECUTE format('DELETE FROM metrics_valuechange x USING gone g WHERE x.%I = g.id',
                   TG_ARGV[0]) || scope;
    RETURN NULL;
END
$$
"""


def mark_unlogged_additions(apps, schema_editor):
    """Values an early import added without a history row (still at their first version,
    naming the import, no history row of it): their creation is the entry itself."""
    from django.db.models import Exists, OuterRef

    MetricEntry = apps.get_model("metrics", "MetricEntry")
    ValueChange = apps.get_model("metrics", "ValueChange")
    logged = ValueChange.objects.filter(
        campaign_id=OuterRef("campaign_id"),
        metric_id=OuterRef("metric_id"),
        month=OuterRef("month"),
        import_batch_id=OuterRef("import_batch_id"),
    )
    MetricEntry.objects.filter(
        source="import", version=1, import_batch__isnull=False
    ).exclude(Exists(logged)).update(creation_logged=False)


def create_cascades(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (the embedded mode) runs one writer at a time
    schema_editor.execute(CASCADE_FUNCTION, params=None)
    for table, columns in CASCADES.items():
        arguments = ", ".join(f"'{column}'" for column in columns)
        schema_editor.execute(
            f"CREATE TRIGGER metrics_values_cascade AFTER DELETE ON {table}"
            " REFERENCING OLD TABLE AS gone FOR EACH STATEMENT"
            f" EXECUTE FUNCTION metrics_values_cascade({arguments})"
        )


def drop_cascades(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in CASCADES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS metrics_values_cascade ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS metrics_values_cascade()")


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0002_initial'),
        ('imports', '0002_importfile_remove_importbatch_import_status_valid_and_more'),
        ('kpiboard', '0001_initial'),
        ('metrics', '0003_lean_entries'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='metricentry',
            name='creation_logged',
            field=models.BooleanField(db_default=True, default=True),
        ),
        migrations.RunPython(mark_unlogged_additions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='metricentry',
            name='campaign',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='metricentry',
            name='import_batch',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='imports.importbatch'),
        ),
        migrations.AlterField(
            model_name='metricentry',
            name='metric',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='metrics.metric'),
        ),
        migrations.RemoveIndex(
            model_name='metricentry',
            name='entry_org_month',
        ),
        migrations.AddIndex(
            model_name='metricentry',
            index=models.Index(fields=['organization', 'month', 'metric'], name='entry_org_month_metric'),
        ),
        migrations.AlterField(
            model_name='metricentry',
            name='organization',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='kpiboard.organization'),
        ),
        migrations.AlterField(
            model_name='valuechange',
            name='campaign',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='campaigns.campaign'),
        ),
        migrations.AlterField(
            model_name='valuechange',
            name='changed_by',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='valuechange',
            name='import_batch',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='imports.importbatch'),
        ),
        migrations.AlterField(
            model_name='valuechange',
            name='metric',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='metrics.metric'),
        ),
        migrations.AlterField(
            model_name='valuechange',
            name='organization',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='value_changes', to='kpiboard.organization'),
        ),
        migrations.AddIndex(
            model_name='metricentry',
            index=models.Index(condition=models.Q(('creation_logged', False)), fields=['organization', 'updated_at', 'id'], name='entry_unlogged'),
        ),
        migrations.RunPython(create_cascades, drop_cascades),
    ]
