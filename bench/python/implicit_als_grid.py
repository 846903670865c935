"""implicit 0.7.3's ALS tuned the way a user tunes it by hand, in one process (what the wall time
measures): every configuration of a grid is fitted on an inner split of train, scored on the
validation part with implicit's own ndcg_at_k (K=10, fit items filtered), the best is refitted on
the whole train split and its factors saved for the bench's common evaluator. Test is never read.

  implicit_als_grid.py --fit DIR --valid DIR --train DIR --out DIR [--factors 32,64,128]
      [--regularization 1,3,10,30,100] [--alpha 1,2,5,10,20] [--iterations 15] [--threads 2]
  -> OUT/user_factors.npy, OUT/item_factors.npy; JSON (every trial, the best, seconds) on stdout
"""
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from implicit_als import load_csr  # noqa: E402


def main():
    t_all = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fit", required=True)
    ap.add_argument("--valid", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--factors", default="32,64,128")
    ap.add_argument("--regularization", default="1,3,10,30,100")
    ap.add_argument("--alpha", default="1,2,5,10,20")
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ndcg_at_k

    fit, valid, train = load_csr(a.fit), load_csr(a.valid), load_csr(a.train)

    def model(f, reg, alpha):
        return AlternatingLeastSquares(factors=f, regularization=reg, alpha=alpha, dtype=np.float32,
                                       iterations=a.iterations, calculate_training_loss=False,
                                       num_threads=a.threads, random_state=a.seed)

    grid = [(int(f), float(r), float(al)) for f in a.factors.split(",") for r in a.regularization.split(",")
            for al in a.alpha.split(",")]
    trials = []
    for f, reg, alpha in grid:
        t = time.perf_counter()
        m = model(f, reg, alpha)
        m.fit(fit, show_progress=False)
        v = float(ndcg_at_k(m, fit, valid, K=10, show_progress=False, num_threads=a.threads))
        trials.append({"factors": f, "regularization": reg, "alpha": alpha, "valid_ndcg@10": v,
                       "seconds": time.perf_counter() - t})
        print(f"[implicit grid] {f} {reg} {alpha}: {v:.4f}", file=sys.stderr, flush=True)
    best = max(trials, key=lambda x: x["valid_ndcg@10"])  # first of equals: the earlier config
    t = time.perf_counter()
    m = model(best["factors"], best["regularization"], best["alpha"])
    m.fit(train, show_progress=False)
    refit_s = time.perf_counter() - t
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "user_factors.npy", np.ascontiguousarray(m.user_factors, dtype=np.float32))
    np.save(out / "item_factors.npy", np.ascontiguousarray(m.item_factors, dtype=np.float32))
    print(json.dumps({"configs": len(grid), "iterations": a.iterations, "threads": a.threads, "trials": trials,
                      "best": best, "refit_seconds": refit_s, "seconds": time.perf_counter() - t_all}))


if __name__ == "__main__":
    main()
