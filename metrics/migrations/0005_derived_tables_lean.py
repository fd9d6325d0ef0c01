# KPIValue and MetricAggregate lose their surrogate id: their natural key becomes the
# primary key (Django 5.2's CompositePrimaryKey), one index less to write per derived row.
#
# Django does not migrate a table to a composite primary key by itself: the state changes
# are declared below, the database is changed by hand. On PostgreSQL in place, keeping the
# rows: the key's index is built first (a SHARE lock: pages keep reading), then swapped in
# (a short ACCESS EXCLUSIVE lock). On SQLite (the embedded mode) the table is rebuilt.
#
# KPIValue.computed_at gets the database's clock as default (PostgreSQL: the statement's
# start): the recompute no longer sends it with every row.
#
# A fiscal quarter made of a calendar quarter's months (a fiscal year starting in April,
# July or October) is now stored once, as that quarter: its duplicate rows are deleted.

from django.db import migrations, models
from django.db.models.functions import Now

TABLES = [
    # model, table, the unique constraint that becomes the primary key, its columns
    ("kpivalue", "metrics_kpivalue", "kpi_value_unique",
     ("organization_id", "scope", "grain", "period_start", "kpi_id")),
    ("metricaggregate", "metrics_metricaggregate", "aggregate_unique",
     ("organization_id", "scope", "grain", "period_start", "metric_id")),
]  # fmt: skip


def natural_key_as_primary_key(apps, schema_editor):
    for model_name, table, unique, columns in TABLES:
        if schema_editor.connection.vendor == "postgresql":
            # Dropping the id drops its primary key; the key's index is renamed {table}_pkey.
            schema_editor.execute(
                f"CREATE UNIQUE INDEX {table}_key ON {table} ({', '.join(columns)})"
            )
            schema_editor.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT {unique}, DROP COLUMN id,"
                f" ADD CONSTRAINT {table}_pkey PRIMARY KEY USING INDEX {table}_key"
            )
            continue
        model = apps.get_model("metrics", model_name)
        schema_editor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}__old"')
        for name in [unique, *(index.name for index in model._meta.indexes)]:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        schema_editor.create_model(model)
        names = ", ".join(f'"{field.column}"' for field in model._meta.local_concrete_fields)
        schema_editor.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{table}__old"'
        )
        schema_editor.execute(f'DROP TABLE "{table}__old"')


def drop_fiscal_quarters_stored_as_quarters(apps, schema_editor):
    for model_name in ("KPIValue", "MetricAggregate"):
        model = apps.get_model("metrics", model_name)
        model.objects.filter(grain="fiscal_quarter", period_start__month__in=[1, 4, 7, 10]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0004_entries_lean_constraints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="kpivalue", name="kpi_value_unique"),
                migrations.RemoveConstraint(
                    model_name="metricaggregate", name="aggregate_unique"
                ),
                migrations.RemoveField(model_name="kpivalue", name="id"),
                migrations.RemoveField(model_name="metricaggregate", name="id"),
                migrations.AddField(
                    model_name="kpivalue",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "organization_id", "scope", "grain", "period_start", "kpi_id",
                        blank=True, editable=False, primary_key=True, serialize=False,
                    ),  # fmt: skip
                ),
                migrations.AddField(
                    model_name="metricaggregate",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "organization_id", "scope", "grain", "period_start", "metric_id",
                        blank=True, editable=False, primary_key=True, serialize=False,
                    ),  # fmt: skip
                ),
            ],
        ),
        migrations.RunPython(natural_key_as_primary_key),
        migrations.RunPython(drop_fiscal_quarters_stored_as_quarters, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="kpivalue",
            name="computed_at",
            field=models.DateTimeField(db_default=Now()),
        ),
    ]
