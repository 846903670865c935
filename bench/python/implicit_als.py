"""Fit implicit 0.7.3's CPU ALS on a CSR matrix from .npy files; time it and save the factors.

Python anchor of the cf-native ALS benchmark: same matrix, same run, same machine as ours.
"""
import os

# BLAS must be single-threaded before numpy loads: implicit parallelises over users with OpenMP
# and calls level-1/2 BLAS per user; a threaded OpenBLAS underneath oversubscribes the cores
# (implicit's own check_blas_config warns about this). The research anchors used these settings.
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse  # noqa: E402


def log(msg):
    print(f"[implicit_als] {msg}", file=sys.stderr, flush=True)


def load_csr(d):
    d = Path(d)
    shape = json.loads((d / "shape.json").read_text())
    rows, cols = int(shape["rows"]), int(shape["cols"])
    indptr = np.load(d / "indptr.npy")
    indices = np.load(d / "indices.npy")
    data = np.load(d / "data.npy")
    nnz = len(data)
    if len(indptr) != rows + 1 or int(indptr[-1]) != nnz or len(indices) != nnz:
        sys.exit(f"bad CSR in {d}: indptr {len(indptr)} (want {rows + 1}), "
                 f"indptr[-1]={int(indptr[-1])}, indices {len(indices)}, data {nnz}")
    if nnz and int(indices.max()) >= cols:
        sys.exit(f"bad CSR in {d}: column index {int(indices.max())} >= cols {cols}")
    # scipy wants signed index arrays; uint32 on disk is converted here, outside the timing.
    idx_t = np.int32 if nnz < 2**31 and cols < 2**31 else np.int64
    m = scipy.sparse.csr_matrix(
        (data.astype(np.float32, copy=False),
         indices.astype(idx_t, copy=False),
         indptr.astype(idx_t, copy=False)),
        shape=(rows, cols))
    return m


class RssSampler(threading.Thread):
    """Peak RSS from /proc/self/statm every `period` s. ru_maxrss alone also counts the load
    phase, so the increase over the pre-fit baseline isolates what fit() itself allocates.
    implicit's solver releases the GIL, so this thread keeps sampling during the solves."""

    def __init__(self, period=0.01):
        super().__init__(daemon=True)
        self.period = period
        self.stop_evt = threading.Event()
        self.baseline = self.peak = self.read()

    @staticmethod
    def read():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def run(self):
        while not self.stop_evt.wait(self.period):
            self.peak = max(self.peak, self.read())

    def stop(self):
        self.stop_evt.set()
        self.join()
        self.peak = max(self.peak, self.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--matrix", required=True, help="dir with indptr/indices/data.npy + shape.json")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--regularization", type=float, default=0.05)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--solver", choices=["cg", "cholesky"], default="cg")
    ap.add_argument("--cg-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="0 = all cores (implicit's meaning)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--confidence", choices=["alpha*r", "linear"], default="alpha*r",
                    help="linear: fit on data' = 1 + alpha*data with model alpha = 1, so implicit's "
                         "c = alpha*data' equals Hu et al.'s (and cf-native's) c = 1 + alpha*r")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    import implicit
    import threadpoolctl
    from implicit.cpu.als import AlternatingLeastSquares

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # Python + numpy + scipy + implicit before any data: the memory ratio in bench/RESULTS.md
    # subtracts it, as bench/node/als_fit.mjs subtracts Node + the addon.
    rss_runtime = RssSampler.read()
    t0 = time.perf_counter()
    X = load_csr(a.matrix)
    model_alpha = a.alpha
    if a.confidence == "linear":
        # Done before the timed fit, in place of implicit's own `Cui = alpha * Cui` copy (skipped
        # when alpha == 1.0), so neither engine pays for the scaling inside its iterations.
        X.data = (np.float32(1.0) + np.float32(a.alpha) * X.data).astype(np.float32, copy=False)
        model_alpha = 1.0
    log(f"loaded {X.shape[0]}x{X.shape[1]}, nnz={X.nnz} in {time.perf_counter() - t0:.2f}s")

    # Confidence: implicit uses the stored value itself, times alpha, as c (c = alpha*r, with
    # A += (c-1) y y^T, b += c y) -- NOT Hu et al.'s c = 1 + alpha*r. Feed the same values to
    # cf-native only with the matching confidence mode, or the factors will not be comparable.
    model = AlternatingLeastSquares(
        factors=a.factors, regularization=a.regularization, alpha=model_alpha,
        dtype=np.float32, use_cg=(a.solver == "cg"), iterations=a.iterations,
        calculate_training_loss=False, num_threads=a.threads, random_state=a.seed)
    # 0.7.3 has no cg_steps constructor argument; the solver reads this attribute.
    model.cg_steps = a.cg_steps

    # fit() calls callback(iteration, elapsed, loss) where elapsed spans both half-steps of
    # that iteration only (not the transpose or the factor init, which fit_seconds includes).
    per_iter = []
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    model.fit(X, show_progress=False, callback=lambda it, el, loss: per_iter.append(el))
    fit_s = time.perf_counter() - t0
    sampler.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    uf = np.ascontiguousarray(model.user_factors, dtype=np.float32)
    itf = np.ascontiguousarray(model.item_factors, dtype=np.float32)
    assert uf.shape == (X.shape[0], a.factors) and itf.shape == (X.shape[1], a.factors)
    np.save(out / "user_factors.npy", uf)
    np.save(out / "item_factors.npy", itf)

    build_file = Path(sys.prefix) / "IMPLICIT_BUILD"
    result = {
        "library": "implicit",
        "version": implicit.__version__,
        "build": build_file.read_text().strip() if build_file.exists() else "unknown",
        "seconds_per_iteration_median": statistics.median(per_iter) if per_iter else None,
        "seconds_per_iteration": per_iter,
        "fit_seconds": fit_s,
        "peak_rss_bytes": peak_rss,
        "rss_increase_bytes": sampler.peak - sampler.baseline,
        "rss_runtime_bytes": rss_runtime,
        "rss_pre_fit_bytes": sampler.baseline,
        "rss_fit_peak_bytes": sampler.peak,
        "params": {
            "factors": a.factors, "regularization": a.regularization, "alpha": a.alpha,
            "iterations": a.iterations, "solver": a.solver,
            "cg_steps": a.cg_steps if a.solver == "cg" else None,
            "seed": a.seed, "dtype": "float32",
        },
        "confidence": "alpha*r" if a.confidence == "alpha*r" else "1+alpha*r",
        "model_alpha": model_alpha,
        "threads": a.threads,
        "matrix": {"rows": X.shape[0], "cols": X.shape[1], "nnz": int(X.nnz)},
        "env": {
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__,
            "OPENBLAS_NUM_THREADS": os.environ["OPENBLAS_NUM_THREADS"],
            "blas": [{k: p.get(k) for k in ("internal_api", "version", "num_threads")}
                     for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"],
        },
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    log(f"median {result['seconds_per_iteration_median']:.4f} s/iter, fit {fit_s:.2f} s, "
        f"peak RSS {peak_rss / 2**20:.0f} MiB (+{result['rss_increase_bytes'] / 2**20:.0f} MiB "
        f"during fit) -> {out}")


if __name__ == "__main__":
    main()
