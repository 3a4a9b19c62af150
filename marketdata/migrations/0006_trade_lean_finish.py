"""Issue 17, step 3 of 3: the old text columns and their indexes dropped, the new key made."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("marketdata", "0005_trade_lean_fill")]

    operations = [
        migrations.RemoveConstraint("trade", "uq_trade_trade_id"),
        migrations.RemoveIndex("trade", "ix_trade_pool_time"),
        migrations.RemoveField("trade", "trade_id"),
        migrations.RemoveField("trade", "tx_hash"),
        migrations.RemoveField("trade", "tx_from_address"),
        migrations.RemoveField("trade", "from_token_address"),
        migrations.RemoveField("trade", "to_token_address"),
        migrations.AlterField(
            "trade",
            "event_index",
            models.IntegerField(help_text="From the trade id; -1 when the id is kept whole"),
        ),
        migrations.AlterField(
            "trade",
            "id_lag",
            models.IntegerField(help_text="Seconds from block_timestamp to the trade id's ts"),
        ),
        migrations.AlterField(
            "trade",
            "kept_trade_id",
            models.TextField(
                blank=True,
                null=True,
                help_text="The API's id, when the row's fields cannot rebuild it",
            ),
        ),
        migrations.AlterField(
            "trade",
            "tx_key",
            models.BigIntegerField(help_text="64-bit digest of the tx hash (the unique key's)"),
        ),
        migrations.AlterField(
            "trade",
            "tx",
            models.BinaryField(help_text="The tx hash, encoded (marketdata.trade_codec)"),
        ),
        migrations.AlterField(
            "trade", "tx_from", models.BinaryField(help_text="The sender's address, encoded")
        ),
        migrations.AlterField(
            "trade",
            "from_token",
            models.BinaryField(null=True, help_text="Encoded; null: the pool's, by side"),
        ),
        migrations.AlterField(
            "trade",
            "to_token",
            models.BinaryField(null=True, help_text="Encoded; null: the pool's, by side"),
        ),
        migrations.AddConstraint(
            "trade",
            models.UniqueConstraint(
                fields=["pool", "block_timestamp", "event_index", "tx_key"],
                name="uq_trade_pool_time_key",
            ),
        ),
    ]
