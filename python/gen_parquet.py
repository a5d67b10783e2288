"""Parquet fixtures of tabpfn-cli predict's reader (fixtures/parquet): the iris example in
snappy (dictionary-encoded) and zstd, a table of every supported column type with nulls,
and files the reader must refuse (nested, timestamp, truncated). pyarrow only; the same
bytes on every run.

    python gen_parquet.py ../fixtures/parquet
"""

import decimal
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
examples = Path(__file__).resolve().parents[1] / "examples"

train = pcsv.read_csv(examples / "iris_train.csv")
test = pcsv.read_csv(examples / "iris_test.csv")
pq.write_table(train, out / "iris_train.parquet", compression="snappy", use_dictionary=True)
pq.write_table(test, out / "iris_test.parquet", compression="zstd", use_dictionary=False)

n = 12
mixed = pa.table({
    "i64": pa.array([1, 2, None, 4, 5, 6, 7, 8, 9, 10, 11, 12], pa.int64()),
    "f32": pa.array([0.5 * i if i != 3 else None for i in range(n)], pa.float32()),
    "flag": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
    "txt": pa.array(["a", "b", None, "c"] * 3, pa.string()),
    "cat": pa.array(["lo", "hi", "lo", "mid"] * 3).dictionary_encode(),
    "dec": pa.array([decimal.Decimal(f"{i}.25") for i in range(n)], pa.decimal128(9, 2)),
    "y": pa.array(["p", "q", "r"] * 4),
})
pq.write_table(mixed, out / "mixed.parquet", compression="gzip")

nested = pa.table({"a": [1.0, 2.0], "l": pa.array([[1, 2], [3]], pa.list_(pa.int64()))})
pq.write_table(nested, out / "nested.parquet")
ts = pa.table({"a": [1.0, 2.0], "t": pa.array([0, 1], pa.timestamp("ms"))})
pq.write_table(ts, out / "timestamp.parquet")
full = (out / "iris_test.parquet").read_bytes()
(out / "truncated.parquet").write_bytes(full[: len(full) - 40])
print(f"wrote {len(list(out.iterdir()))} files to {out}")
