"""Does the confidence given to each positive move a tuned implicit ALS on the bench's split?
Issue 17 names "log1p play counts" among what tuned grids did better on; this checks the shared
datasets. The positives and the 80/20 test split are the tune bench's (prepare_data.py's rule,
seed 42, ratings >= 4 on MovieLens, every play on Last.fm); the training values differ:
binary (what every bench here uses), log1p(plays) or raw plays on lastfm-2k, rating - 3 or the
rating on ml-latest-small. For each, implicit's ALS is tuned on an inner 20 % per-user split of
train (seed 7; factors {64, 128} x alpha-scale {1..50} x ridge m {2, 5, 10}, alpha rescaled so
that alpha times the mean value is the same for every transform), refitted on train, scored
once on test (NDCG@10, binary gains, train items filtered; test items no train row holds are
kept here, so the figures sit a little under RESULTS-tune.md's). Exploratory: no JSON output.

  bench/.venv/bin/python -W ignore bench/python/value_transforms.py lastfm-2k|ml-latest-small
"""
import sys, numpy as np, scipy.sparse as sp, json, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
DATA = Path(__file__).resolve().parents[3] / 'shared' / 'data'
from prepare_data import split_per_user
from threadpoolctl import threadpool_limits
import implicit
threadpool_limits(1, 'blas')
name = sys.argv[1]
if name == 'lastfm-2k':
    raw = np.loadtxt(DATA / 'lastfm-2k' / 'user_artists.dat', delimiter='\t', skiprows=1, usecols=(0,1,2))
else:
    raw = np.loadtxt(DATA / 'ml-latest-small' / 'ratings.csv', delimiter=',', skiprows=1, usecols=(0,1,2))
    raw = raw[raw[:,2] >= 4]
uid, u = np.unique(raw[:,0].astype(np.int64), return_inverse=True)
iid, i = np.unique(raw[:,1].astype(np.int64), return_inverse=True)
cnt = raw[:,2]
rng = np.random.default_rng(42)
te = split_per_user(rng, u, 0.2); tr = ~te
rng2 = np.random.default_rng(7)
uu, ii, cc = u[tr], i[tr], cnt[tr]
va = split_per_user(rng2, uu, 0.2)
R, C = len(uid), len(iid)
def csr(uu, ii, vv): return sp.csr_matrix((vv.astype(np.float32), (uu, ii)), shape=(R, C))
def ndcg(model, train, test):
    ids, _ = model.recommend(np.arange(R), train, N=10, filter_already_liked_items=True)
    test = test.tocsr(); tot = 0; n = 0
    disc = 1/np.log2(np.arange(2, 12))
    for r in range(R):
        t = set(test.indices[test.indptr[r]:test.indptr[r+1]])
        if not t: continue
        g = sum(disc[k] for k, x in enumerate(ids[r]) if x in t)
        tot += g / disc[:min(10, len(t))].sum(); n += 1
    return tot / n
transforms = {'binary': lambda c: np.ones_like(c), 'log1p': lambda c: np.log1p(c), 'raw': lambda c: c}
if name != 'lastfm-2k': transforms = {'binary': lambda c: np.ones_like(c), 'rating-3': lambda c: c - 3.0, 'rating': lambda c: c}
res = {}
for tn, f in transforms.items():
    best = None
    scale = np.mean(f(cc[~va]))
    for fac in [64, 128]:
      for a in [1, 2, 5, 10, 20, 50]:
        for m in [2, 5, 10]:
            alpha = a / scale  # so alpha*mean(value) = a
            reg = m * (1 + a)
            mdl = implicit.cpu.als.AlternatingLeastSquares(factors=fac, regularization=reg, alpha=alpha, iterations=15, random_state=1, num_threads=2)
            trv = csr(uu[~va], ii[~va], f(cc[~va]))
            mdl.fit(trv, show_progress=False)
            s = ndcg(mdl, trv, csr(uu[va], ii[va], np.ones(va.sum())))
            if best is None or s > best[0]: best = (s, fac, a, m)
    s, fac, a, m = best
    trall = csr(uu, ii, f(cc)); scale2 = np.mean(f(cc))
    mdl = implicit.cpu.als.AlternatingLeastSquares(factors=fac, regularization=m*(1+a), alpha=a/scale2, iterations=15, random_state=1, num_threads=2)
    mdl.fit(trall, show_progress=False)
    t = ndcg(mdl, trall, csr(u[te], i[te], np.ones(te.sum())))
    res[tn] = dict(valid=s, test=t, factors=fac, a=a, m=m)
    print(name, tn, json.dumps(res[tn]), flush=True)
