"""Issue 17, step 2 of 3: every stored trade moved into the lean columns, a batch per
transaction, so a migration killed midway goes on where it stopped (marketdata.trade_relayout).
"""

from django.db import migrations


def move(apps, schema_editor):
    from marketdata.trade_relayout import move_all

    move_all()


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("marketdata", "0004_trade_lean_columns")]

    operations = [migrations.RunPython(move, migrations.RunPython.noop, elidable=True)]
