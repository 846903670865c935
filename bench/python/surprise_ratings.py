"""Surprise's SVD (biased MF by SGD) and BaselineOnly on ml-100k's u1-u5 folds, beside
cf-native's mf in `npm run bench -- ratings` (bench/ratings.mjs).

Reads the folds the bench wrote (<dir>/uN.fit, uN.val: a seeded 90/10 split of uN.base;
uN.base; uN.test; tab-separated user item rating timestamp) and prints one JSON object:
per fold, test RMSE/MAE of
  - svd_default:  SVD() as shipped (100 factors, 20 epochs, lr 0.005, reg 0.02);
  - svd_tuned:    SVD with (reg_all, n_epochs) picked on the fold's validation slice from a
                  small grid, then refitted on the whole base file;
  - baseline:     BaselineOnly() (ALS baselines, defaults).
random_state is fixed, so a rerun gives the same numbers.
"""

import argparse
import json
import time

from surprise import SVD, BaselineOnly, Dataset, Reader, accuracy

GRID = [
    {"reg_all": reg, "n_epochs": ep, "lr_all": 0.005}
    for reg in (0.02, 0.05, 0.1)
    for ep in (20, 50)
]


def load(path):
    reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
    return Dataset.load_from_file(path, reader=reader)


def trainset(path):
    return load(path).build_full_trainset()


def testset(path):
    return load(path).build_full_trainset().build_testset()


def score(algo, train, test):
    t = time.perf_counter()
    algo.fit(train)
    fit_s = time.perf_counter() - t
    pred = algo.test(test)
    return {
        "rmse": accuracy.rmse(pred, verbose=False),
        "mae": accuracy.mae(pred, verbose=False),
        "fit_seconds": fit_s,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--folds", default="u1,u2,u3,u4,u5")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = {"grid": GRID, "folds": {}}
    for f in a.folds.split(","):
        base = trainset(f"{a.dir}/{f}.base")
        test = testset(f"{a.dir}/{f}.test")
        fit = trainset(f"{a.dir}/{f}.fit")
        val = testset(f"{a.dir}/{f}.val")
        rec = {}
        rec["svd_default"] = score(SVD(random_state=a.seed), base, test)
        rec["baseline"] = score(BaselineOnly(verbose=False), base, test)
        tried = []
        for g in GRID:
            r = score(SVD(random_state=a.seed, **g), fit, val)
            tried.append({**g, "valid_rmse": r["rmse"]})
        best = min(tried, key=lambda t: t["valid_rmse"])
        params = {k: best[k] for k in ("reg_all", "n_epochs", "lr_all")}
        rec["svd_tuned"] = {**score(SVD(random_state=a.seed, **params), base, test), "params": params, "valid_rmse": best["valid_rmse"]}
        out["folds"][f] = rec
    print(json.dumps(out))


if __name__ == "__main__":
    main()
