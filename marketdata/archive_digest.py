"""An archive file's checksum, the same whatever the batches it is read or written in."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class BatchDigest:
    """A file's checksum from its record batches as written and as read back: per column
    its nulls, its values' bytes and (texts and bytes) their lengths, each a digest of its own,
    so it does not depend on where a batch ends."""

    def __init__(self, schema: pa.Schema):
        kinds = ("nulls", "values", "lengths")
        self.parts = {(n, k): hashlib.blake2b(digest_size=32) for n in schema.names for k in kinds}
        self.rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            nulls = column.is_null().to_numpy(zero_copy_only=False)
            self.parts[name, "nulls"].update(nulls.tobytes())
            if pa.types.is_binary(column.type) or pa.types.is_string(column.type):
                lengths = pc.binary_length(column).fill_null(0).to_numpy().astype(np.int32)
                self.parts[name, "lengths"].update(lengths.tobytes())
                offsets = np.frombuffer(
                    column.buffers()[1], np.int32, len(column) + 1, column.offset * 4
                )
                data = column.buffers()[2]
                if data is not None:
                    self.parts[name, "values"].update(memoryview(data)[offsets[0] : offsets[-1]])
                continue
            if pa.types.is_timestamp(column.type):
                column = column.cast(pa.int64())
            values = column.fill_null(False if pa.types.is_boolean(column.type) else 0)
            self.parts[name, "values"].update(values.to_numpy(zero_copy_only=False).tobytes())
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        whole = hashlib.blake2b(str(self.rows).encode(), digest_size=32)
        for digest in self.parts.values():
            whole.update(digest.digest())
        return whole.hexdigest()
