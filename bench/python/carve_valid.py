"""Carve a validation split out of a bench train matrix: per user, a seeded random fraction of
its rows (stochastic rounding, never the last row), the same rule as prepare_data.py's test split.

  carve_valid.py --train DIR --out DIR --fraction 0.125 --seed 42   -> OUT/fit, OUT/valid
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from prepare_data import split_per_user, write_csr  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--fraction", type=float, default=0.125)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    d = Path(a.train)
    shape = json.loads((d / "shape.json").read_text())
    indptr = np.load(d / "indptr.npy").astype(np.int64)
    i = np.load(d / "indices.npy").astype(np.int64)
    v = np.load(d / "data.npy")
    u = np.repeat(np.arange(shape["rows"]), np.diff(indptr))
    is_valid = split_per_user(np.random.default_rng(a.seed), u, a.fraction)
    out = Path(a.out)
    info = {
        "fit": write_csr(out / "fit", u[~is_valid], i[~is_valid], v[~is_valid], shape["rows"], shape["cols"]),
        "valid": write_csr(out / "valid", u[is_valid], i[is_valid], np.ones(is_valid.sum(), np.float32), shape["rows"], shape["cols"]),
    }
    print(json.dumps(info))


if __name__ == "__main__":
    main()
