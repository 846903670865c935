#!/usr/bin/env python3
"""Writes the committed seed inputs of the read and split targets (seeds/<target>/).

Each seed is the option bytes the targets decode (fuzz_targets/common.rs, split.rs) followed
by a small interaction file: a few lines of ml-latest-small in the shapes the loader handles
(header or not, CRLF, quotes, Latin-1, BOM, UTF-16, `::`, tab, gzip). Re-run after changing
the option layout: python3 make_seeds.py
"""
import gzip
import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATINGS = HERE.parents[2] / "datasets" / "ml-latest-small" / "ratings.csv.gz"


def sample():
    """The header and the first 3 rows of each of the first 5 users."""
    with gzip.open(RATINGS, "rt") as f:
        header = next(f).rstrip("\n")
        rows, per_user = [], {}
        for line in f:
            user = line.split(",", 1)[0]
            if len(per_user) == 5 and user not in per_user:
                break
            if per_user.get(user, 0) < 3:
                rows.append(line.rstrip("\n"))
                per_user[user] = per_user.get(user, 0) + 1
    return header, rows


def opts(delim=0, raw_delim=0, header=0, user=0, item=0, rating=0, time=0, values=0, dups=0, gz=0, threshold=0, min_user=0, min_item=0):
    """The 8 option bytes; see the table in fuzz_targets/common.rs."""
    return bytes([
        delim, raw_delim, header, user | item << 4, rating | time << 4,
        values + 3 * dups + 6 * gz, threshold, min_user | min_item << 4,
    ])


def split_opts(strategy=0, a=1, b=1, seed=42, pre_split=0):
    return bytes([strategy + 5 * pre_split, a, b, seed])


def files():
    header, rows = sample()
    csv = "\n".join([header, *rows]) + "\n"
    bare = "\n".join(rows) + "\n"
    name = lambda i: 8 + i  # column by name: userId movieId rating timestamp user ""
    idx = lambda i: 2 + i   # column by index
    yield "header-detect.csv", opts(), csv.encode()
    yield "header-names.csv", opts(header=1, user=name(0), item=name(1), rating=name(2), time=name(3), threshold=5, min_user=2), csv.encode()
    yield "no-header-rating.csv", opts(delim=1, header=2, values=1), bare.encode()
    yield "crlf-log1p.csv", opts(values=2, dups=1), csv.replace("\n", "\r\n").encode()
    yield "gz-by-harness.csv", opts(gz=1, threshold=4), csv.encode()
    yield "gz-input.csv.gz", opts(), gzip.compress(csv.encode(), mtime=0)
    yield "tab-indices.tsv", opts(delim=2, user=idx(1), item=idx(0), rating=idx(2)), bare.replace(",", "\t").encode()
    yield "double-colon.dat", opts(delim=3), bare.replace(",", "::").encode()
    yield "pipe-detect.txt", opts(), bare.replace(",", "|").encode()
    quoted = "user,item,rating\n" + "".join(
        f'"u{r.split(",")[0]}","Movie, ""{r.split(",")[1]}""",{r.split(",")[2]}\n' for r in rows)
    yield "quoted.csv", opts(values=1), quoted.encode()
    latin1 = "\n".join(f"{r.split(',')[0]}é;caf\u00e9 {r.split(',')[1]};{r.split(',')[2]}" for r in rows) + "\n"
    yield "latin1-semicolon.csv", opts(delim=5), latin1.encode("latin-1")
    yield "bom-words.csv", opts(), ("\ufeffuser_id,item_id\n" + "".join(f"u{r.split(',')[0]},i{r.split(',')[1]}\n" for r in rows)).encode()
    yield "utf16.csv", opts(), csv.encode("utf-16")
    yield "duplicates-sum.csv", opts(values=1), b"1,1,3\n1,1,2\n2,1,1\n2,2,5\n1,2,1\n"
    yield "kcore.csv", opts(min_user=2, min_item=2), b"1,a\n1,b\n2,a\n2,b\n3,a\n4,c\n"
    yield "space-raw.txt", opts(delim=7, raw_delim=ord(" ")), b"1 10 5 100\n2 20 3.5 200\n1 20 1 300\n"
    # Bugs the fuzzers found, minimized by hand (see fuzz/README.md).
    yield "regress-usize-max-column.csv", opts(rating=15), b"1,10\n2,20\n"
    yield "regress-newline-in-header-name.csv", opts(delim=1, header=1, user=name(4), item=idx(1)), b'"user\nid",item\n1,2\n'
    yield "regress-sum-overflow.csv", opts(values=1), b"1,10,3e38\n2,20,1\n1,10,3e38\n"


def main():
    for target in ("read", "split"):
        out = HERE / "seeds" / target
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    for name, head, body in files():
        (HERE / "seeds" / "read" / name).write_bytes(head + body)
    header, rows = sample()
    csv = ("\n".join([header, *rows]) + "\n").encode()
    bare = ("\n".join(rows) + "\n").encode()
    split = HERE / "seeds" / "split"
    for s, (a, b) in enumerate([(1, 1), (20, 40), (5, 6), (0, 0), (0, 0)]):
        (split / f"strategy-{s}.csv").write_bytes(opts() + split_opts(s, a, b) + csv)
    (split / "leave-last-out-huge.csv").write_bytes(opts(min_user=3) + split_opts(0, 255, 2) + csv)
    third = len(rows) // 3
    parts = ["\n".join(rows[:third]), "\n".join(rows[third:2 * third]), "\n".join(rows[2 * third:])]
    for s in (3, 4, 0):
        (split / f"pre-split-{s}.csv").write_bytes(opts(header=2) + split_opts(s, pre_split=1) + ("\n--\n".join(parts) + "\n").encode())
    total = sum(p.stat().st_size for p in (HERE / "seeds").rglob("*") if p.is_file())
    print(f"wrote {sum(1 for _ in (HERE / 'seeds').rglob('*'))} seeds, {total} bytes")


if __name__ == "__main__":
    main()
