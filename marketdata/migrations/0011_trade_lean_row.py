"""Issue 17: a trade without the time it was fetched (no reader needs it) and its pool in 4
bytes, in the column order of marketdata.relayout.TRADE: 12 bytes fewer a trade. The rows move
in committed batches, so a migration killed midway goes on where it stopped."""

import django.db.models.deletion
from django.db import migrations

import marketdata.fields


def lean(apps, schema_editor):
    from marketdata import relayout

    relayout.rebuild(relayout.TRADE)


def with_fetched(apps, schema_editor):
    from marketdata import relayout

    relayout.rebuild(relayout.TRADE_WITH_FETCHED)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("marketdata", "0010_candle_natural_key")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(lean, with_fetched, elidable=True)],
            state_operations=[
                migrations.RemoveField(model_name="trade", name="fetched_at"),
                migrations.AlterField(
                    model_name="trade",
                    name="pool",
                    field=marketdata.fields.PoolKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trades",
                        to="marketdata.pool",
                    ),
                ),
            ],
        )
    ]
