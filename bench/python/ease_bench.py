"""NumPy EASE (Steck 2019's reference code: G = XᵀX dense, P = inv(G + λI), B = -P / diag(P),
diag(B) = 0) on the bench's CSR matrix, timed; compared with cf-native's first rows of B.

  ease_bench.py --matrix DIR --lam 500 --cf DIR   -> one JSON line
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--lam", type=float, required=True)
    ap.add_argument("--cf", required=True)
    a = ap.parse_args()
    d = Path(a.matrix)
    sh = json.loads((d / "shape.json").read_text())
    X = sp.csr_matrix((np.load(d / "data.npy").astype(np.float64), np.load(d / "indices.npy"), np.load(d / "indptr.npy")), shape=(sh["rows"], sh["cols"]))
    t = time.perf_counter()
    G = (X.T @ X).toarray()
    G[np.diag_indices_from(G)] += a.lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0.0
    secs = time.perf_counter() - t
    cf = np.load(Path(a.cf) / "b_rows.npy").astype(np.float64)
    diff = np.abs(cf - B[: cf.shape[0]])
    print(json.dumps({"items": int(sh["cols"]), "numpy_seconds": secs, "max_abs_diff": float(diff.max()), "max_abs_b": float(np.abs(B[: cf.shape[0]]).max()), "rows_compared": int(cf.shape[0])}))


if __name__ == "__main__":
    main()
