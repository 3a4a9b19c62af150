"""Issue 17, step 1 of 3: the lean layout's trade columns, empty until 0005 fills them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("marketdata", "0003_misc_gap_backoff")]

    operations = [
        migrations.AddField("trade", "event_index", models.IntegerField(null=True)),
        migrations.AddField("trade", "id_lag", models.IntegerField(null=True)),
        migrations.AddField("trade", "kept_trade_id", models.TextField(null=True, blank=True)),
        migrations.AddField("trade", "tx_key", models.BigIntegerField(null=True)),
        migrations.AddField("trade", "tx", models.BinaryField(null=True)),
        migrations.AddField("trade", "tx_from", models.BinaryField(null=True)),
        migrations.AddField("trade", "from_token", models.BinaryField(null=True)),
        migrations.AddField("trade", "to_token", models.BinaryField(null=True)),
    ]
