"""Writes the Parquet test fixtures under __test__/fixtures from the embedded dataset, with
pyarrow's defaults where a test is about files others write. Needs pyarrow (not a project
dependency): python3 -m venv /tmp/pa && /tmp/pa/bin/pip install pyarrow

  ml-latest-small-ratings.parquet  every row of ratings.csv.gz as pyarrow writes it by
                                   default (int64 ids, double rating, int64 timestamp, snappy)
  ratings-head-typed-gzip.parquet  the first 2000 rows with other types: string user ids,
                                   int32 item ids, float rating, TIMESTAMP(MILLIS, UTC) time,
                                   nullable columns without nulls, gzip, two row groups
  ratings-head-zstd.parquet        the first 100 rows, zstd (a codec cf-native does not read)
"""
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv
import pyarrow.parquet as pq

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
out = os.path.join(root, "__test__", "fixtures")
os.makedirs(out, exist_ok=True)
t = csv.read_csv(os.path.join(root, "datasets", "ml-latest-small", "ratings.csv.gz"))

pq.write_table(t, os.path.join(out, "ml-latest-small-ratings.parquet"))

head = t.slice(0, 2000)
typed = pa.table(
    {
        "userId": pc.cast(head["userId"], pa.string()),
        "movieId": pc.cast(head["movieId"], pa.int32()),
        "rating": pc.cast(head["rating"], pa.float32()),
        "timestamp": pc.cast(pc.multiply(head["timestamp"], 1000), pa.timestamp("ms", tz="UTC")),
    }
)
pq.write_table(typed, os.path.join(out, "ratings-head-typed-gzip.parquet"), compression="gzip", row_group_size=1500)

pq.write_table(t.slice(0, 100), os.path.join(out, "ratings-head-zstd.parquet"), compression="zstd")

for name in sorted(os.listdir(out)):
    if name.endswith(".parquet"):
        f = pq.ParquetFile(os.path.join(out, name))
        print(f"{name}: {os.path.getsize(os.path.join(out, name))} bytes, {f.metadata.num_rows} rows, "
              f"{f.metadata.num_row_groups} row groups, {f.schema_arrow}".replace("\n", "; "), file=sys.stderr)
