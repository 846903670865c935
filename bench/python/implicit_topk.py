"""implicit 0.7.3's recommend and similar_items on the factors bench/node/topk.mjs also reads.

The Python side of `npm run bench -- topk`: one process, one workload; prints one JSON object
on stdout. implicit's CPU top-K (implicit/cpu/topk.pyx) splits a batch into blocks of 100
queries, runs the blocks on num_threads OpenMP threads, each block one numpy (OpenBLAS)
product, so BLAS stays single-threaded (OPENBLAS_NUM_THREADS=1, as in the other benches) and
num_threads gives the parallelism. A single call is one block, on the calling thread.

  implicit_topk.py --data SHAPE_DIR --factors-dir DIR --threads 2 [--k 10] [--reps 3]
      [--singles 300] [--agreement 100]
"""
import os

# Before numpy loads; setdefault, so bench/topk.mjs's side measurement of single calls with
# more BLAS threads can set it from outside.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse  # noqa: E402


def time_batch(reps, fn):
    seconds = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return {"seconds": seconds, "median_seconds": statistics.median(seconds)}


def time_singles(n, fn):
    ms = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        ms.append((time.perf_counter() - t) * 1e3)
    s = sorted(ms)
    return {"median_ms": statistics.median(s), "p90_ms": s[min(n - 1, int(0.9 * n))], "mean_ms": sum(s) / n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--factors-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--singles", type=int, default=300)
    ap.add_argument("--agreement", type=int, default=100)
    ap.add_argument("--singles-only", action="store_true",
                    help="only the single recommend calls (the BLAS-threads side measurement)")
    a = ap.parse_args()
    import implicit
    from implicit.cpu.als import AlternatingLeastSquares

    data, fdir = Path(a.data), Path(a.factors_dir)
    t0 = time.perf_counter()
    uf = np.load(fdir / "user_factors.npy")
    itf = np.load(fdir / "item_factors.npy")
    n_users, f = uf.shape
    n_items = itf.shape[0]
    indptr = np.load(data / "seen_indptr.npy").astype(np.int32)
    indices = np.load(data / "seen_indices.npy").astype(np.int32)
    seen = scipy.sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr), shape=(n_users, n_items))
    users = np.load(data / "query_users.npy").astype(np.int32)
    items = np.load(data / "query_items.npy").astype(np.int32)
    # implicit's API: the factors are plain attributes of a CPU model; recommend takes the seen
    # rows of exactly the users asked for. Slicing the batch's rows is setup a service would
    # hold, so it is done before the timing; a single call slices its row as implicit's docs
    # show (`user_items[userid]`), timed, and the pre-sliced variant is recorded too.
    model = AlternatingLeastSquares(factors=f, num_threads=a.threads)
    model.user_factors = np.ascontiguousarray(uf, dtype=np.float32)
    model.item_factors = np.ascontiguousarray(itf, dtype=np.float32)
    batch_rows = seen[users]
    load_seconds = time.perf_counter() - t0

    k = a.k
    singles = min(a.singles, len(users), len(items))
    row_slices = [seen[int(u)] for u in users[:singles]]
    # Warm-up: similar_items computes and caches the item norms on its first call.
    model.recommend(users[:1000], seen[users[:1000]], N=k, filter_already_liked_items=True)
    model.similar_items(items[:200], N=k)
    for i in range(20):
        model.recommend(int(users[i]), row_slices[i], N=k)

    out = {"engine": "implicit", "version": implicit.__version__, "threads": a.threads,
           "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "users": n_users,
           "items": n_items, "factors": f, "k": k, "seen_nnz": int(seen.nnz), "load_seconds": load_seconds}
    res = {}

    def rec():
        res["rec"] = model.recommend(users, batch_rows, N=k, filter_already_liked_items=True)

    def sim():
        res["sim"] = model.similar_items(items, N=k)

    # Same order as bench/node/topk.mjs: batch recommend, single recommend, batch similar, single similar.
    if not a.singles_only:
        b = time_batch(a.reps, rec)
        out["recommend_batch"] = {"queries": len(users), **b, "per_second": len(users) / b["median_seconds"]}
    out["recommend_single"] = {"calls": singles, **time_singles(
        singles, lambda i: model.recommend(int(users[i]), seen[int(users[i])], N=k))}
    out["recommend_single_presliced"] = {"calls": singles, **time_singles(
        singles, lambda i: model.recommend(int(users[i]), row_slices[i], N=k))}
    if not a.singles_only:
        b = time_batch(a.reps, sim)
        out["similar_batch"] = {"queries": len(items), **b, "per_second": len(items) / b["median_seconds"]}
        out["similar_single"] = {"calls": singles, **time_singles(singles, lambda i: model.similar_items(int(items[i]), N=k))}
        out["recommend_head"] = res["rec"][0][: a.agreement].tolist()
        out["similar_head"] = res["sim"][0][: a.agreement].tolist()
    print(json.dumps(out))
    print(f"[implicit_topk] {n_items} items, f={f}: load {load_seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
