"""NDCG@K and Recall@K of saved factor files on a held-out CSR, one definition for every engine.

Definitions (the same as cf-native's README "Metrics"): score = user_factors @ item_factors.T,
the user's train items removed from the ranking; recall@K = hits / min(K, |T|); NDCG@K uses
binary gains and log2 discounts, normalised by the ideal DCG of min(K, |T|) hits; both are
macro-averaged over users with >= 1 test item and >= 1 train item. A popularity ranking (train
counts) is scored the same way as a sanity floor.

  evaluate.py --train DIR --test DIR --engine NAME=FACTORDIR [--engine ...] [--k 10]
              [--max-users N] [--seed S]  -> JSON on stdout
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

BLOCK = 64  # items per block in the top-k pre-selection (see topk_excluding)


def load_csr(d):
    d = Path(d)
    shape = json.loads((d / "shape.json").read_text())
    return scipy.sparse.csr_matrix(
        (np.load(d / "data.npy"), np.load(d / "indices.npy").astype(np.int64),
         np.load(d / "indptr.npy").astype(np.int64)),
        shape=(shape["rows"], shape["cols"]))


def topk_excluding(scores, train_rows, k):
    """Indices of the k best items per row of `scores` (best first; ties by lower id), train
    items excluded.

    A full argpartition costs 15-50 ns per element, which is minutes on 292k-item matrices.
    Instead: the max of each block of BLOCK items; the true top-k lie in the k blocks with the
    largest maxima (each top-k item's block max >= the k-th best score, and at most k blocks can
    hold such an item), so only k*BLOCK candidates are sorted."""
    scores[train_rows.nonzero()] = -np.inf
    b, n = scores.shape
    nb = -(-n // BLOCK)
    if nb <= k:
        padded, cand = scores, np.broadcast_to(np.arange(n), (b, n))
    else:
        # Padding slots get -inf and ids >= n, so they sort after every real item (even excluded
        # ones at -inf, as ties go to the lower id) and are never among the first k when n >= k.
        padded = np.full((b, nb * BLOCK), -np.inf, dtype=scores.dtype)
        padded[:, :n] = scores
        block_max = padded.reshape(b, nb, BLOCK).max(axis=2)
        top_blocks = np.argpartition(-block_max, k - 1, axis=1)[:, :k]
        cand = (top_blocks[:, :, None] * BLOCK + np.arange(BLOCK)).reshape(b, -1)
    cs = np.take_along_axis(padded, cand, axis=1)
    order = np.lexsort((cand, -cs), axis=-1)
    return np.take_along_axis(cand, order[:, :k], axis=1)


def metrics_for(score_fn, users, train, test, k, batch):
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = np.cumsum(disc)
    n_items = train.shape[1]
    ndcg, recall = [], []
    for s in range(0, len(users), batch):
        ub = users[s:s + batch]
        top = topk_excluding(score_fn(ub), train[ub], k)
        t = test[ub]
        # Hits by key lookup: (row, item) of the batch's test entries, sorted as CSR stores them.
        t.sort_indices()
        rows = np.repeat(np.arange(len(ub), dtype=np.int64), np.diff(t.indptr))
        keys = rows * n_items + t.indices
        want = np.arange(len(ub), dtype=np.int64)[:, None] * n_items + top
        pos = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
        hit = (keys[pos] == want) if len(keys) else np.zeros_like(want, dtype=bool)
        m = np.minimum(k, np.diff(t.indptr))
        ndcg.append((hit * disc).sum(axis=1) / idcg[m - 1])
        recall.append(hit.sum(axis=1) / m)
    return {f"ndcg@{k}": float(np.concatenate(ndcg).mean()),
            f"recall@{k}": float(np.concatenate(recall).mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--engine", action="append", default=[], help="NAME=DIR with *_factors.npy")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--max-users", type=int, default=0, help="0 = all eligible users")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    train, test = load_csr(a.train), load_csr(a.test)
    eligible = np.flatnonzero((np.diff(test.indptr) > 0) & (np.diff(train.indptr) > 0))
    users = eligible
    if a.max_users and len(eligible) > a.max_users:
        # A seeded sample, shared by every engine, keeps the big synthetic shapes cheap.
        users = np.sort(np.random.default_rng(a.seed).choice(eligible, a.max_users, replace=False))
    n_items = train.shape[1]
    # ~256 MB of float32 scores per batch.
    batch = max(1, min(4096, (64 << 20) // max(1, n_items)))

    out = {"k": a.k, "users_eligible": int(len(eligible)), "users_evaluated": int(len(users)),
           "sampled": bool(len(users) < len(eligible)), "engines": {}}
    counts = np.asarray((train > 0).sum(axis=0)).ravel().astype(np.float32)
    t0 = time.perf_counter()
    out["popularity"] = metrics_for(lambda ub: np.tile(counts, (len(ub), 1)), users, train, test, a.k, batch)
    for spec in a.engine:
        name, d = spec.split("=", 1)
        uf = np.load(Path(d) / "user_factors.npy")
        itf = np.load(Path(d) / "item_factors.npy")
        if uf.shape[0] != train.shape[0] or itf.shape[0] != n_items:
            sys.exit(f"{d}: factor shapes {uf.shape}/{itf.shape} do not match train {train.shape}")
        out["engines"][name] = metrics_for(lambda ub: uf[ub] @ itf.T, users, train, test, a.k, batch)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
