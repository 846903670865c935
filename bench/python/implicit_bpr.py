"""Fit implicit 0.7.3's CPU BPR on a CSR matrix from .npy files; time it and save the factors.

Python anchor of the cf-native BPR benchmark: same matrix, same run, same machine. implicit
draws nnz samples per epoch (its negatives are a random entry of the matrix, i.e.
popularity-weighted, verified against the user's row); item bias as the last column.

  implicit_bpr.py --matrix DIR --out DIR --factors 64 --learning-rate 0.05 \
      --regularization 0.01 --epochs 10 --threads 2 --seed 42
"""
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402


def load_csr(d):
    d = Path(d)
    shape = json.loads((d / "shape.json").read_text())
    return scipy.sparse.csr_matrix(
        (np.load(d / "data.npy").astype(np.float32), np.load(d / "indices.npy").astype(np.int32),
         np.load(d / "indptr.npy").astype(np.int32)),
        shape=(shape["rows"], shape["cols"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--regularization", type=float, default=0.01)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    import implicit
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    m = load_csr(a.matrix)
    m.data[:] = 1.0
    model = BayesianPersonalizedRanking(
        factors=a.factors, learning_rate=a.learning_rate, regularization=a.regularization,
        iterations=a.epochs, num_threads=a.threads, random_state=a.seed,
        verify_negative_samples=True)
    # Per-epoch times through the fit callback (called after each epoch).
    stamps = []
    t0 = time.perf_counter()
    model.fit(m, show_progress=False, callback=lambda it, elapsed, *rest: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    times = [b - a_ for a_, b in zip([t0] + stamps[:-1], stamps)] or [wall / a.epochs] * a.epochs
    save_run(a.out, model.user_factors, model.item_factors, "implicit", implicit.__version__,
             m.nnz, times, wall)


def save_run(out, user_factors, item_factors, engine, version, samples_per_epoch, times, wall):
    """The factor files evaluate.py reads and the result.json the BPR benches read (samples/s
    from the median epoch and over all epochs), for every Python engine."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "user_factors.npy", np.ascontiguousarray(user_factors, dtype=np.float32))
    np.save(out / "item_factors.npy", np.ascontiguousarray(item_factors, dtype=np.float32))
    res = {
        "engine": engine, "version": version, "wall_seconds": wall,
        "epochs": len(times), "seconds_per_epoch_median": statistics.median(times),
        "samples_per_second": samples_per_epoch * len(times) / sum(times),
        "samples_per_second_median": samples_per_epoch / statistics.median(times),
    }
    (out / "result.json").write_text(json.dumps(res, indent=1))
    print(f"[{engine}] {len(times)} epochs, {res['samples_per_second_median'] / 1e6:.2f} M samples/s", file=sys.stderr)


if __name__ == "__main__":
    main()
