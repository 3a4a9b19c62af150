"""Issue 17: a bar is keyed by (pool, timeframe, ts), with no surrogate id or fetch time, in
the column order of marketdata.relayout.CANDLE: 150 -> ~115 bytes a bar on disk. The rows move
in committed batches, so a migration killed midway goes on where it stopped. The admin lists
bars through a view that gives each one a single key (models.CandleRow)."""

import django.db.models.deletion
from django.db import migrations, models

import marketdata.fields

VIEW = (
    "CREATE VIEW marketdata_candle_row AS SELECT"
    " concat_ws(':', pool_id, timeframe, extract(epoch FROM ts)::bigint) AS key,"
    " pool_id, timeframe, ts, open, high, low, close, volume_usd, is_final"
    " FROM marketdata_candle"
)


def lean(apps, schema_editor):
    from marketdata import relayout

    schema_editor.execute("DROP VIEW IF EXISTS marketdata_candle_row")
    relayout.rebuild(relayout.CANDLE)
    schema_editor.execute(VIEW)


def with_id(apps, schema_editor):
    from marketdata import relayout

    schema_editor.execute("DROP VIEW IF EXISTS marketdata_candle_row")
    relayout.rebuild(relayout.CANDLE_WITH_ID)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("marketdata", "0009_coverage_ndistinct")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(lean, with_id, elidable=True)],
            state_operations=[
                migrations.RemoveConstraint(model_name="candle", name="uq_candle_pool_tf_ts"),
                migrations.RemoveField(model_name="candle", name="fetched_at"),
                migrations.RemoveField(model_name="candle", name="id"),
                migrations.AddField(
                    model_name="candle",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "pool",
                        "timeframe",
                        "ts",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                migrations.AlterField(
                    model_name="candle",
                    name="pool",
                    field=marketdata.fields.PoolKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="candles",
                        to="marketdata.pool",
                    ),
                ),
                migrations.CreateModel(
                    name="CandleRow",
                    fields=[
                        ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                        (
                            "pool",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="marketdata.pool",
                            ),
                        ),
                        (
                            "timeframe",
                            models.CharField(
                                choices=[
                                    ("1m", "1 minute"),
                                    ("5m", "5 minutes"),
                                    ("15m", "15 minutes"),
                                    ("1h", "1 hour"),
                                    ("4h", "4 hours"),
                                    ("12h", "12 hours"),
                                    ("1d", "1 day"),
                                ],
                                max_length=3,
                            ),
                        ),
                        ("ts", models.DateTimeField()),
                        ("open", models.FloatField()),
                        ("high", models.FloatField()),
                        ("low", models.FloatField()),
                        ("close", models.FloatField()),
                        ("volume_usd", models.FloatField()),
                        ("is_final", models.BooleanField()),
                    ],
                    options={
                        "verbose_name": "candle",
                        "db_table": "marketdata_candle_row",
                        "managed": False,
                        "constraints": [
                            models.UniqueConstraint(
                                fields=["pool", "timeframe", "ts"], name="uq_candlerow_key"
                            )
                        ],
                    },
                ),
            ],
        )
    ]
