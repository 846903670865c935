"""Write one benchmark workload's train/test CSR matrices (bench DIR format) from a JSON spec.

Both engines read the files written here, so they fit the identical matrix and are scored on the
identical held-out set. Called by bench/run.mjs; the spec is the single source of truth and is
stored in meta.json, so an unchanged spec reuses the files (generation of the big shapes takes
tens of seconds).

Spec kinds:
  {"kind": "synthetic", "users", "items", "train_nnz", "user_exponent", "item_exponent", "seed",
   "test_fraction"}
  {"kind": "movielens" | "lastfm", "path", "seed", "test_fraction", ...}

Output: OUT/train/{indptr,indices,data}.npy + shape.json, OUT/test/ (binary values), OUT/meta.json.
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

# Bump when the generation or split code changes, so cached matrices are rebuilt.
FORMAT_VERSION = 2


def log(msg):
    print(f"[prepare_data] {msg}", file=sys.stderr, flush=True)


def powerlaw_cdf(n, exponent):
    """CDF of P(rank r) proportional to r^-exponent, r = 1..n."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    c = np.cumsum(w)
    return c / c[-1]


def sample_distinct_pairs(rng, users, items, target, ue, ie):
    """Draw (user, item) pairs i.i.d. from the power laws and stop at exactly `target` distinct
    pairs, counting repeats. Equivalent to a sequential stream stopped at the target-th new pair,
    but vectorised: draw in bulk, find each pair's first draw, cut at the target-th first draw."""
    cdf_u, cdf_i = powerlaw_cdf(users, ue), powerlaw_cdf(items, ie)
    keys = np.empty(0, dtype=np.int64)
    chunk = int(target * 1.25) + 1000
    while True:
        u = np.searchsorted(cdf_u, rng.random(chunk), side="right").astype(np.int64)
        i = np.searchsorted(cdf_i, rng.random(chunk), side="right").astype(np.int64)
        np.minimum(u, users - 1, out=u)  # guard against cdf[-1] rounding below 1.0
        np.minimum(i, items - 1, out=i)
        keys = np.concatenate([keys, u * items + i])
        uniq, first = np.unique(keys, return_index=True)
        if len(uniq) >= target:
            break
        # Distinct pairs grow sublinearly in draws; ask for the shortfall with headroom.
        chunk = int((target - len(uniq)) * 2.5) + 1000
    cutoff = np.partition(first, target - 1)[target - 1]
    uniq, counts = np.unique(keys[: cutoff + 1], return_counts=True)
    assert len(uniq) == target
    return uniq, counts, len(keys[: cutoff + 1])


def synthetic(spec, rng):
    users, items = spec["users"], spec["items"]
    # The held-out part is generated on top of the train target so the train matrix (what is timed)
    # has the anchor's nnz; the per-user split below removes test_fraction of each row.
    total = round(spec["train_nnz"] / (1.0 - spec["test_fraction"]))
    keys, counts, draws = sample_distinct_pairs(
        rng, users, items, total, spec["user_exponent"], spec["item_exponent"])
    u, i = np.divmod(keys, items)
    # Rank 1 would otherwise be row 0: shuffle ids so popular users/items are spread over the
    # matrix as in real data (matters for load balancing and cache behaviour, not for flops).
    u = rng.permutation(users)[u]
    i = rng.permutation(items)[i]
    values = (1.0 + np.log1p(counts)).astype(np.float32)
    return u, i, values, {"draws": int(draws), "distinct_pairs": int(total)}, users, items


def read_real(spec):
    """Positives of a real dataset as (user, item) row indices with binary values."""
    kind, path = spec["kind"], spec["path"]
    if kind == "movielens":
        # ml-100k u.data: tab, no header; ml-latest-small ratings.csv: comma, header, CRLF
        # (np.loadtxt strips the \r with the rest of the whitespace).
        sep = "\t" if spec.get("delimiter") == "tab" else ","
        raw = np.loadtxt(path, delimiter=sep, skiprows=1 if spec.get("header") else 0,
                         usecols=(0, 1, 2), dtype=np.float64)
        raw = raw[raw[:, 2] >= spec["positive_threshold"]]
    elif kind == "lastfm":
        # user_artists.dat: userID<TAB>artistID<TAB>weight, header; every play is a positive.
        raw = np.loadtxt(path, delimiter="\t", skiprows=1, usecols=(0, 1, 2), dtype=np.float64)
    else:
        sys.exit(f"unknown spec kind {kind}")
    uid, u = np.unique(raw[:, 0].astype(np.int64), return_inverse=True)
    iid, i = np.unique(raw[:, 1].astype(np.int64), return_inverse=True)
    keys = u.astype(np.int64) * len(iid) + i
    if len(np.unique(keys)) != len(keys):
        sys.exit(f"{path}: duplicate (user, item) rows; this reader does not merge them")
    values = np.ones(len(u), dtype=np.float32)  # binary: the rating/play count is not used
    return u, i, values, {"rows_read": int(len(raw))}, len(uid), len(iid)


def split_per_user(rng, u, test_fraction):
    """Per user, a seeded random test_fraction of its rows goes to test (stochastic rounding of
    test_fraction * n, so the expected share is exact), never a user's last remaining row."""
    n = len(u)
    order = np.lexsort((rng.random(n), u))           # rows grouped by user, random within user
    us = u[order]
    starts = np.flatnonzero(np.r_[True, us[1:] != us[:-1]])
    sizes = np.diff(np.r_[starts, n])
    want = test_fraction * sizes
    n_test = np.floor(want + rng.random(len(sizes))).astype(np.int64)
    n_test = np.minimum(n_test, sizes - 1)
    rank = np.arange(n) - np.repeat(starts, sizes)     # position within the user's shuffled rows
    is_test = np.empty(n, dtype=bool)
    is_test[order] = rank < np.repeat(n_test, sizes)
    return is_test


def write_csr(d, u, i, values, rows, cols):
    d.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((i, u))
    u, i, values = u[order], i[order], values[order]
    indptr = np.zeros(rows + 1, dtype=np.uint32)       # uint32: what cf-native's fromCsr takes
    np.cumsum(np.bincount(u, minlength=rows), out=indptr[1:])
    np.save(d / "indptr.npy", indptr)
    np.save(d / "indices.npy", i.astype(np.uint32))
    np.save(d / "data.npy", values.astype(np.float32))
    (d / "shape.json").write_text(json.dumps({"rows": int(rows), "cols": int(cols)}) + "\n")
    return {"rows": int(rows), "cols": int(cols), "nnz": int(len(u)),
            "empty_rows": int(rows - len(np.unique(u))), "empty_cols": int(cols - len(np.unique(i)))}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", required=True, help="JSON workload data spec")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    spec = json.loads(a.spec)
    out = Path(a.out)
    want = {"format_version": FORMAT_VERSION, "spec": spec}
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in want} == want:
            log(f"reusing {out} (same spec)")
            print(json.dumps(meta))
            return
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    rng = np.random.default_rng(spec["seed"])
    if spec["kind"] == "synthetic":
        u, i, values, info, rows, cols = synthetic(spec, rng)
    else:
        u, i, values, info, rows, cols = read_real(spec)
    is_test = split_per_user(rng, u, spec["test_fraction"])
    tr, te = ~is_test, is_test
    meta = dict(want)
    meta["generation"] = info
    meta["train"] = write_csr(out / "train", u[tr], i[tr], values[tr], rows, cols)
    meta["test"] = write_csr(out / "test", u[te], i[te], np.ones(int(te.sum()), np.float32), rows, cols)
    meta["seconds"] = round(time.perf_counter() - t0, 2)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")  # last: its presence marks completion
    log(f"{out}: train {meta['train']}, test nnz {meta['test']['nnz']} in {meta['seconds']} s")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
