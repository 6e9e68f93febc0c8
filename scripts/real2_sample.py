#!/usr/bin/env python3
"""Stratified sample of real community messages for kith-text's second real set (data/eval/real2.tsv).

Usage: python3 scripts/real2_sample.py [DATA_DIR] > unlabelled.tsv
(default DATA_DIR: $KITH_SHARED_DATA or ../shared/data). Python 3 standard library only.

Same sources, cleaning and source notes as scripts/real_eval_sample.py (whose functions it
reuses); every item already in data/eval/real-sources.tsv is excluded. Items are grouped
into strata by structure only (post type, question tag, Slack channel), never by content;
each stratum has a fixed quota, decided before any message was read, filled in ascending
order of FNV-1a-64(SALT + source note). Every drawn item is kept whatever it says; only
empty texts are skipped (the next in hash order takes the place). Output columns: id,
source, text (escaped as in messages.tsv).
"""

import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_eval_sample as base  # noqa: E402

SALT = "kith-real2/"
SITE = "history.meta.stackexchange.com"

# Question tags in precedence order: a question carrying several goes to the first.
QUESTION_TAGS = ["feature-request", "bug", "support", "discussion"]

# Quotas per stratum (fixed before reading any message). A stratum smaller than its quota
# is taken whole.
QUOTAS = [
    ("se question feature-request", 36),
    ("se question bug", 20),
    ("se question support", 40),
    ("se question discussion", 60),
    ("se question other", 20),
    ("se answer", 100),
    ("se comment", 150),
    ("slack #general", 80),
    ("slack #get_feedback", 40),
    ("slack #datajam", 40),
    ("slack #meetup-", 35),
    ("slack other channels", 40),
]


def question_tags(d):
    tags = {}
    for _, el in ET.iterparse(os.path.join(d, "Posts.xml")):
        if el.tag == "row" and el.attrib.get("PostTypeId") == "1":
            tags[el.attrib["Id"]] = el.attrib.get("Tags", "")
        el.clear()
    return tags


def stratum(src, qtags):
    if src.startswith(SITE + " post "):
        pid = src.rsplit(" ", 1)[1]
        if pid not in qtags:
            return "se answer"
        for t in QUESTION_TAGS:
            if f"<{t}>" in qtags[pid]:
                return f"se question {t}"
        return "se question other"
    if src.startswith(SITE + " comment "):
        return "se comment"
    ch = src.split(" ")[2]
    if ch in ("#general", "#get_feedback", "#datajam", "#meetup-"):
        return f"slack {ch}"
    return "slack other channels"


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    here = os.path.dirname(os.path.abspath(__file__))
    sources = os.path.join(here, "..", "crates", "kith-text", "data", "eval", "real-sources.tsv")
    with open(sources, encoding="utf-8") as f:
        used = {line.rstrip("\n").split("\t")[1] for line in f.readlines()[1:] if "\t" in line}
    se = os.path.join(d, "stackexchange-history-meta")
    qtags = question_tags(se)
    pools = {name: [] for name, _ in QUOTAS}
    items = list(base.stackexchange(se)) + list(
        base.slack(os.path.join(d, "slack-export-houstondatavis"))
    )
    for src, _, text in items:
        if src in used:
            continue
        pools[stratum(src, qtags)].append((base.fnv1a64(SALT + src), src, text))
    out = []
    for name, quota in QUOTAS:
        taken = 0
        for _, src, text in sorted(pools[name]):
            if taken == quota:
                break
            if not text.strip():
                continue
            out.append((src, base.cut(text)))
            taken += 1
        print(f"{name}: {taken} of {len(pools[name])} (quota {quota})", file=sys.stderr)
    for i, (src, text) in enumerate(out, 1):
        print(f"s{i:04d}\t{src}\t{base.escape(text)}")
    print(f"{len(out)} sampled", file=sys.stderr)


if __name__ == "__main__":
    main()
