"""Fit LightFM 1.17 (BPR or WARP loss, no side features) on a CSR matrix from .npy files; time
each epoch and save the factors for bench/python/evaluate.py.

A further anchor of the BPR benchmark (issue 13), run as a user would: LightFM's own defaults
(adagrad schedule, no L2 penalty: its item_alpha / user_alpha act per update and at implicit's
0.01 zero the embeddings), the bench's factors, learning rate, epochs and threads (OpenMP,
Hogwild). An epoch visits every positive once in a shuffled order; WARP then draws negatives
until one violates the margin, BPR draws one uniform negative, so "samples" here are positives
visited, as implicit's are. The saved rows rank as LightFM's predict does: the user's row is
[embedding, 1] and the item's [embedding, bias] (the user bias shifts a user's scores and
cannot change their ranking).

  lightfm_bpr.py --matrix DIR --out DIR --loss bpr|warp --factors 64 --learning-rate 0.05 \
      --epochs 10 --threads 2 --seed 42
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from implicit_bpr import load_csr, save_run  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--loss", choices=["bpr", "warp"], default="bpr")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    import lightfm
    from lightfm import LightFM

    m = load_csr(a.matrix)
    m.data[:] = 1.0
    coo = m.tocoo()
    model = LightFM(no_components=a.factors, loss=a.loss, learning_rate=a.learning_rate,
                    random_state=a.seed)
    times = []
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        t = time.perf_counter()
        model.fit_partial(coo, epochs=1, num_threads=a.threads)
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    if not np.isfinite(model.item_embeddings).all():
        raise SystemExit(f"[lightfm_{a.loss}] the embeddings diverged (learning rate {a.learning_rate})")
    users = np.hstack([model.user_embeddings, np.ones((m.shape[0], 1), np.float32)])
    items = np.hstack([model.item_embeddings, model.item_biases[:, None]])
    save_run(a.out, users, items, f"lightfm-{a.loss}", lightfm.__version__, m.nnz, times, wall)

if __name__ == "__main__":
    main()
