"""Reads the Parquet files cf-core's writers make back with pyarrow and compares every value:
the list sink (export/parquet.rs ParquetListSink) and the factor table (write_factors_parquet).
Not part of CI (pyarrow is not a project dependency). Run from the repository root:

  python3 -m venv /tmp/pa && /tmp/pa/bin/pip install pyarrow
  /tmp/pa/bin/python scripts/check-parquet.py
"""
import os
import subprocess
import sys
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq


def main():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(
            ["cargo", "test", "-q", "-p", "cf-core", "--lib", "write_samples_for_pyarrow", "--", "--ignored"],
            check=True,
            env={**os.environ, "CF_PARQUET_SAMPLES": d},
        )
        check_list(os.path.join(d, "similar.parquet"))
        check_factors(os.path.join(d, "factors.parquet"))
    print("pyarrow", pa.__version__, "read both files back: every value matches")


def check_list(path):
    f = pq.ParquetFile(path)
    want = pa.schema(
        [
            pa.field("item", pa.string(), nullable=False),
            pa.field("rank", pa.int32(), nullable=False),
            pa.field("similar_item", pa.string(), nullable=False),
            pa.field("score", pa.float32(), nullable=False),
        ]
    )
    assert f.schema_arrow == want, f.schema_arrow
    queries, k = 20_000, 10
    assert f.metadata.num_rows == queries * k
    groups = [f.metadata.row_group(g).num_rows for g in range(f.metadata.num_row_groups)]
    assert max(groups) <= (1 << 17) + 7770 and len(groups) > 1, groups
    assert all(f.metadata.row_group(0).column(c).compression == "SNAPPY" for c in range(4))
    t = f.read().to_pydict()
    for j in range(queries * k):
        q, r = divmod(j, k)
        assert t["item"][j] == f"q{q}·é", (j, t["item"][j])
        assert t["rank"][j] == r + 1
        assert t["similar_item"][j] == f"i{(q * 7 + r) % 1000}"
        assert t["score"][j] == (q * 10 + r) / 8.0 - 100.0, (j, t["score"][j])
    print(f"{path}: {f.metadata.num_rows} rows in row groups {groups}, schema {want}".replace("\n", "; "))


def check_factors(path):
    f = pq.ParquetFile(path)
    sch = f.schema_arrow
    assert sch.names == ["id", "factors"], sch
    assert sch.field("id").type == pa.string()
    assert pa.types.is_list(sch.field("factors").type) and sch.field("factors").type.value_type == pa.float32(), sch
    n, k = 30_000, 40
    assert f.metadata.num_rows == n and f.metadata.num_row_groups > 1
    t = f.read()
    ids = t.column("id").to_pylist()
    factors = t.column("factors").to_pylist()
    for i in range(n):
        assert ids[i] == f"u{i}"
        assert factors[i] == [((i * k + j) % 4096) / 8.0 - 256.0 for j in range(k)], i
    print(f"{path}: {n} rows x {k} factors in {f.metadata.num_row_groups} row groups, schema {sch}".replace("\n", "; "))


if __name__ == "__main__":
    sys.exit(main())
