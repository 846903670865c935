"""The Python side of `npm run bench -- svd`: scipy svds (ARPACK, PROPACK) and scikit-learn
randomized_svd on the bench's CSR matrix, and every engine's accuracy against one converged
reference (ARPACK with k + 16 values, tol = 0; its top k are used).

  svd_bench.py --matrix DIR --k 64 --engines arpack,propack,sklearn --cf NAME=DIR ... --threads 2
Prints one JSON object: per engine seconds, the relative error of each singular value
(max / median / k-th) and the largest principal angle between its right singular subspace
and the reference's (radians; cf-native's V is float32, so ~1e-7 is its floor).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.linalg import subspace_angles
from scipy.sparse.linalg import svds


def load(d):
    d = Path(d)
    sh = json.loads((d / "shape.json").read_text())
    return sp.csr_matrix(
        (np.load(d / "data.npy").astype(np.float64), np.load(d / "indices.npy"), np.load(d / "indptr.npy")),
        shape=(sh["rows"], sh["cols"]),
    )


def descending(s, vt):
    o = np.argsort(s)[::-1]
    return s[o], vt[o].T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--engines", default="arpack,propack,sklearn")
    ap.add_argument("--cf", action="append", default=[])
    ap.add_argument("--sklearn-iter", type=int, default=4)
    ap.add_argument("--reference-extra", type=int, default=16)
    a = ap.parse_args()
    A = load(a.matrix)
    k = a.k
    log = lambda m: print(f"[svd bench py] {m}", file=sys.stderr, flush=True)
    out = {"shape": list(A.shape), "nnz": int(A.nnz), "k": k, "scipy": scipy.__version__, "engines": {}}
    runs = {}
    for e in a.engines.split(","):
        t = time.perf_counter()
        if e == "arpack":
            _, s, vt = svds(A, k=k, solver="arpack", random_state=0)
        elif e == "propack":
            _, s, vt = svds(A, k=k, solver="propack", random_state=0)
        elif e == "sklearn":
            from sklearn.utils.extmath import randomized_svd
            import sklearn

            out["sklearn"] = sklearn.__version__
            _, s, vt = randomized_svd(A, k, n_oversamples=10, n_iter=a.sklearn_iter, random_state=0)
        else:
            raise SystemExit(f"unknown engine {e}")
        secs = time.perf_counter() - t
        s, v = descending(s, vt)
        runs[e] = (s, v, secs)
        log(f"{e}: {secs:.2f} s")
    t = time.perf_counter()
    _, s_ref, vt_ref = svds(A, k=k + a.reference_extra, solver="arpack", tol=0, random_state=1)
    ref_secs = time.perf_counter() - t
    s_ref, v_ref = descending(s_ref, vt_ref)
    s_ref, v_ref = s_ref[:k], v_ref[:, :k]
    out["reference"] = {"engine": f"arpack k={k + a.reference_extra} tol=0", "seconds": ref_secs, "values": s_ref.tolist()}
    log(f"reference: {ref_secs:.2f} s")
    for c in a.cf:
        name, d = c.split("=", 1)
        r = json.loads((Path(d) / "result.json").read_text())
        v = np.load(Path(d) / "v.npy").astype(np.float64)
        runs[name] = (np.array(r["singular_values"]), v, r["wall_seconds"])
    for name, (s, v, secs) in runs.items():
        rel = np.abs(s[:k] - s_ref) / s_ref
        ang = subspace_angles(v[:, :k], v_ref)
        out["engines"][name] = {
            "seconds": secs,
            "rel_err_max": float(rel.max()),
            "rel_err_median": float(np.median(rel)),
            "rel_err_k": float(rel[-1]),
            "within_1e-6": int((rel <= 1e-6).sum()),
            "max_angle": float(ang.max()),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
