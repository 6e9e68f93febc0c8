#!/usr/bin/env python3
"""Stratified sample of real community messages for kith-text's fourth and fifth real sets
(data/eval/real4.tsv, real5.tsv).

Usage:
    kith --database /tmp/rpd.db import mbox "$KITH_SHARED_DATA/mbox-r-package-devel" --no-score
    kith --database /tmp/rpd.db export -o /tmp/rpd.jsonl
    python3 scripts/real4_sample.py /tmp/rpd.jsonl [OUT_DIR]            # set 4
    python3 scripts/real4_sample.py --set 5 /tmp/rpd.jsonl [OUT_DIR]    # set 5
    python3 scripts/real4_sample.py --set 6 /tmp/rpd.jsonl [OUT_DIR]    # set 6
    python3 scripts/real4_sample.py --set 7 /tmp/rpd.jsonl [OUT_DIR]    # set 7
    python3 scripts/real4_sample.py --set 8 /tmp/rpd.jsonl [OUT_DIR]    # set 8
    python3 scripts/real4_sample.py --set 9 /tmp/rpd.jsonl [OUT_DIR]    # set 9
    python3 scripts/real4_sample.py --set 10 /tmp/rpd.jsonl [OUT_DIR]   # sets 10 to 12 likewise

Set 5 is drawn the same way from the messages set 4 did not take (every source note of
crates/kith-text/data/eval/real4-sources.tsv is excluded first), with its own salt
(`kith-real5/`) and ids v0001...; its files are named real5*. Set 6 likewise excludes sets 4
and 5 (salt `kith-real6/`, ids w0001...), set 7 sets 4 to 6 (salt `kith-real7/`, ids x0001...), set 8 sets 4 to 7 (salt
`kith-real8/`, ids y0001...), set 9 sets 4 to 8 (salt `kith-real9/`, ids z0001...), and sets 10 to 12 every set before
them (salts `kith-real10/` ..., ids t, s, r).

Python 3 standard library only. The messages are those of a community none of the earlier
sets came from: the R package-devel mailing list (public archive, 2015-05 to 2026-07), as
kith stores them (the canonical JSONL kith exports after importing the archive), so each text
is exactly what the product analyses: the whole body, quoted lines and signatures included.

Items are grouped into strata by STRUCTURE only (kind, thread, author, position in the
author's history, thread size), never by content. Quotas were fixed in this file before any
message was read; each stratum is filled in ascending order of FNV-1a-64(SALT + message id).
An item in several strata goes to the first in QUOTAS order; a stratum smaller than its quota
is taken whole. Every drawn item is kept whatever it says; only empty texts are skipped (the
next in hash order takes the place). Texts longer than MAX characters are cut as the earlier
sets' (at a line or sentence end, marked ` [...]`); MAX is 3,000 here (the 95th percentile of
this list's messages; 1,500 in the earlier sets, whose messages are shorter). Ids u0001... are
numbered stratum by stratum in QUOTAS order, hash order within.

Role (from structure only): a thread's opening message (kind `post`) is `opening`, any other
message (kind `reply`) is `reply`.

Prints the stratum table on stderr and, on stdout, id, source, role, stratum, text (escaped as
in messages.tsv). With OUT_DIR, also writes there real4.tsv (labels empty, split `holdout`),
real4-sources.tsv, real4-context.tsv and real4-strata.tsv. OUT_DIR must not be
crates/kith-text/data/eval once labelled: its real4.tsv would lose the labels.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_eval_sample as base  # noqa: E402

# Per set: hash salt, id prefix, file name, the sets whose messages are excluded.
SETS = {
    "4": ("kith-real4/", "u", "real4", []),
    "5": ("kith-real5/", "v", "real5", ["real4-sources.tsv"]),
    "6": ("kith-real6/", "w", "real6", ["real4-sources.tsv", "real5-sources.tsv"]),
    "7": ("kith-real7/", "x", "real7", ["real4-sources.tsv", "real5-sources.tsv", "real6-sources.tsv"]),
    "8": ("kith-real8/", "y", "real8",
          ["real4-sources.tsv", "real5-sources.tsv", "real6-sources.tsv", "real7-sources.tsv"]),
    "9": ("kith-real9/", "z", "real9",
          ["real4-sources.tsv", "real5-sources.tsv", "real6-sources.tsv", "real7-sources.tsv",
           "real8-sources.tsv"]),
}
# Sets 10 to 12 were drawn together (2026-12-07): 10 the next blind bar, 11 and 12 training
# data for kith-text's learned intent model. Each excludes every set before it.
for _n, _p in zip(range(10, 13), "tsr"):
    SETS[str(_n)] = (f"kith-real{_n}/", _p, f"real{_n}", [f"real{k}-sources.tsv" for k in range(4, _n)])

LIST = "r-package-devel"
MAX = 3000

# (stratum, quota), in precedence order. Fixed before any message was read.
QUOTAS = [
    ("ml opening, the author's first message", 90),
    ("ml opening, other", 170),
    ("ml reply by the thread's opener", 110),
    ("ml reply, the author's first message", 40),
    ("ml reply in a thread of 10 or more messages", 70),
    ("ml reply, other", 140),
]


def structure(path):
    """(source note, strata, role, text) of every message, in file order."""
    msgs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    msgs.sort(key=lambda a: (a["ts"], a["id"]))
    opener = {}
    size = {}
    for a in msgs:
        t = a.get("thread") or a["id"]
        size[t] = size.get(t, 0) + 1
        if a["kind"] == "post":
            opener.setdefault(t, a["author"]["id"])
    seen = set()
    out = []
    for a in msgs:
        author = a["author"]["id"]
        first = author not in seen
        seen.add(author)
        t = a.get("thread") or a["id"]
        strata = []
        if a["kind"] == "post":
            strata.append("ml opening, the author's first message" if first else "ml opening, other")
            role = "opening"
        else:
            if opener.get(t) == author:
                strata.append("ml reply by the thread's opener")
            if first:
                strata.append("ml reply, the author's first message")
            if size[t] >= 10:
                strata.append("ml reply in a thread of 10 or more messages")
            strata.append("ml reply, other")
            role = "reply"
        out.append((f"{LIST} message {a['id']}", strata, role, a.get("text") or ""))
    return out


def main():
    args = sys.argv[1:]
    which = "4"
    if args[:1] == ["--set"]:
        which, args = args[1], args[2:]
    if not args or which not in SETS:
        sys.exit(__doc__)
    salt, prefix, name_of_set, excluded = SETS[which]
    out_dir = args[1] if len(args) > 1 else None
    here = os.path.dirname(os.path.abspath(__file__))
    used = set()
    for name in excluded:
        path = os.path.join(here, "..", "crates", "kith-text", "data", "eval", name)
        with open(path, encoding="utf-8") as f:
            used |= {line.rstrip("\n").split("\t")[1] for line in f.readlines()[1:] if "\t" in line}
    order = [name for name, _ in QUOTAS]
    pools = {name: [] for name in order}
    for src, strata, role, text in structure(args[0]):
        if src in used:
            continue
        first = min(strata, key=order.index)
        pools[first].append((base.fnv1a64(salt + src), src, role, text))
    out, table = [], []
    for name, quota in QUOTAS:
        taken = 0
        start = len(out) + 1
        for _, src, role, text in sorted(pools[name]):
            if taken == quota:
                break
            text = base.tidy(text)
            if not text.strip():
                continue
            out.append((src, role, name, base.cut(text, MAX)))
            taken += 1
        ids = f"{prefix}{start:04d}-{prefix}{len(out):04d}" if taken else "-"
        table.append((name, quota, len(pools[name]), taken, ids))
        print(f"{name}: {taken} of {len(pools[name])} (quota {quota}) {ids}", file=sys.stderr)
    print(f"{len(out)} sampled", file=sys.stderr)
    rows = [(f"{prefix}{i:04d}", src, role, name, text) for i, (src, role, name, text) in enumerate(out, 1)]
    for r in rows:
        print("\t".join(r[:4]) + "\t" + base.escape(r[4]))
    if out_dir:
        base.write_sample(out_dir, name_of_set, rows, table)


if __name__ == "__main__":
    main()
