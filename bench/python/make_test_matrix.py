"""Write a small seeded random CSR matrix in the benchmark's DIR format (tests only)."""
import argparse
import json
from pathlib import Path

import numpy as np

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("--out", required=True)
ap.add_argument("--rows", type=int, default=200)
ap.add_argument("--cols", type=int, default=300)
ap.add_argument("--nnz", type=int, default=3000)
ap.add_argument("--seed", type=int, default=42)
a = ap.parse_args()

rng = np.random.default_rng(a.seed)
flat = np.sort(rng.choice(a.rows * a.cols, size=a.nnz, replace=False))  # distinct cells
r, c = np.divmod(flat, a.cols)
# uint32 on disk exercises the loader's conversion, as the Rust side may write uint32.
indptr = np.zeros(a.rows + 1, dtype=np.uint32)
np.cumsum(np.bincount(r, minlength=a.rows), out=indptr[1:])
data = (1.0 + np.log1p(rng.integers(1, 20, size=a.nnz))).astype(np.float32)

out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
np.save(out / "indptr.npy", indptr)
np.save(out / "indices.npy", c.astype(np.uint32))
np.save(out / "data.npy", data)
(out / "shape.json").write_text(json.dumps({"rows": a.rows, "cols": a.cols}) + "\n")
