"""Issue 17: candles and trades partitioned by month (marketdata.repartition), their rows moved
in committed batches, so a migration killed midway goes on where it stopped."""

from django.db import migrations


def partition(apps, schema_editor):
    from marketdata.repartition import convert

    for table in ("marketdata_candle", "marketdata_trade"):
        convert(table)


def flatten(apps, schema_editor):
    from marketdata.repartition import revert

    for table in ("marketdata_candle", "marketdata_trade"):
        revert(table)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("marketdata", "0006_trade_lean_finish")]

    operations = [migrations.RunPython(partition, flatten, elidable=True)]
