"""implicit 0.7.3's CosineRecommender / TFIDFRecommender / BM25Recommender beside cf-native's
knn lists, and the one evaluator both are scored by.

The Python side of `npm run bench -- knn`: fits implicit's model on the bench's train CSR (timed
around `fit` alone), recommends for the users cf-native's side wrote (users.npy; timed, implicit's
batch `recommend`), then scores both engines' lists (lists.npy) with `ndcg_of_lists`: NDCG@K with
binary gains and log2 discounts, normalised by the ideal DCG of min(K, |T|) hits, macro-averaged
over the users (each has >= 1 train and >= 1 test item): the definition of evaluate.py and of
cf-native's README "Metrics".

  implicit_knn.py --train DIR --test DIR --weighting cosine|tfidf|bm25 --K 100 --cf DIR
                  [--threads 2] [--topk 10] [--compare-neighbours 200]  -> one JSON line
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def load_csr(d):
    d = Path(d)
    sh = json.loads((d / "shape.json").read_text())
    return sp.csr_matrix((np.load(d / "data.npy"), np.load(d / "indices.npy").astype(np.int64),
                          np.load(d / "indptr.npy").astype(np.int64)), shape=(sh["rows"], sh["cols"]))


def ndcg_of_lists(lists, users, test, k):
    """NDCG@k of top-k lists (rows of `lists`, item ids, -1 = no item) against `test` rows."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = np.cumsum(disc)
    out = np.empty(len(users))
    for r, u in enumerate(users):
        t = set(test.indices[test.indptr[u]:test.indptr[u + 1]].tolist())
        hits = np.array([1.0 if i in t else 0.0 for i in lists[r, :k]])
        out[r] = (hits * disc).sum() / idcg[min(k, len(t)) - 1]
    return float(out.mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--weighting", required=True, choices=["cosine", "tfidf", "bm25"])
    ap.add_argument("--K", type=int, default=100)
    ap.add_argument("--K1", type=float, default=1.2)
    ap.add_argument("--B", type=float, default=0.75)
    ap.add_argument("--cf", required=True, help="cf-native's output dir (users.npy, lists.npy)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--topk", type=int, default=10)
    ap.add_argument("--neighbours", default="", help="cf-native's neighbour CSR dir to compare (optional)")
    a = ap.parse_args()

    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender
    import implicit

    train, test = load_csr(a.train), load_csr(a.test)
    train.data = train.data.astype(np.float32)
    if a.weighting == "cosine":
        model = CosineRecommender(K=a.K, num_threads=a.threads)
    elif a.weighting == "tfidf":
        model = TFIDFRecommender(K=a.K, num_threads=a.threads)
    else:
        model = BM25Recommender(K=a.K, K1=a.K1, B=a.B, num_threads=a.threads)
    t = time.perf_counter()
    model.fit(train, show_progress=False)
    fit = time.perf_counter() - t

    users = np.load(Path(a.cf) / "users.npy").astype(np.int32)
    t = time.perf_counter()
    ids, _ = model.recommend(users, train[users], N=a.topk, filter_already_liked_items=True)
    rec = time.perf_counter() - t
    ids = np.asarray(ids)
    implicit_lists = np.full((len(users), a.topk), -1, dtype=np.int64)
    implicit_lists[:, : ids.shape[1]] = ids
    cf_lists = np.load(Path(a.cf) / "lists.npy").astype(np.int64)

    out = {
        "implicit": implicit.__version__,
        "weighting": a.weighting,
        "K": a.K,
        "users": int(len(users)),
        "implicit_fit_seconds": fit,
        "implicit_recommend_seconds": rec,
        "implicit_users_per_second": len(users) / rec,
        "implicit_neighbour_entries": int(model.similarity.nnz),
        f"implicit_ndcg@{a.topk}": ndcg_of_lists(implicit_lists, users, test, a.topk),
        f"cf_native_ndcg@{a.topk}": ndcg_of_lists(cf_lists, users, test, a.topk),
        # Lists that agree item for item (ties and float32 sums can reorder equal scores).
        "identical_lists": float(np.mean(np.all(implicit_lists == cf_lists, axis=1))),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
