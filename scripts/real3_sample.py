#!/usr/bin/env python3
"""Stratified sample of real community messages for kith-text's third real set (data/eval/real3.tsv).

Usage: python3 scripts/real3_sample.py [DATA_DIR [OUT_DIR]]
(default DATA_DIR: $KITH_SHARED_DATA or ../shared/data). Python 3 standard library only.

Same sources, cleaning and source notes as scripts/real_eval_sample.py (whose functions it
reuses, as real2_sample.py does); every item listed in data/eval/real-sources.tsv or
real2-sources.tsv is excluded. Items are grouped into strata by STRUCTURE only (post type,
question tags, owner, score, community-wiki status, who comments where, a Slack user's
first message, a Slack channel's first message of a day, reactions, channel), never by
content. Quotas were fixed in this file before any message was read; each stratum is filled
in ascending order of FNV-1a-64(SALT + source note). An item in several strata goes to the
first in QUOTAS order; a stratum smaller than its quota is taken whole. Every drawn item is
kept whatever it says; only empty texts are skipped (the next in hash order takes the
place). Ids t0001... are numbered stratum by stratum in QUOTAS order, hash order within.

Role (from structure only, never from the text): a Stack Exchange question post is
`opening`; an answer or a comment is `reply`; a Slack message that is the first message
(plain or file share) of its channel's day file is `opening`, any other Slack message
`unknown` (the export has no threads).

Prints the stratum table on stderr and, on stdout, id, source, role, stratum, text (escaped
as in messages.tsv). With OUT_DIR, also writes there real3.tsv (labels empty, split
`holdout`), real3-sources.tsv, real3-context.tsv and real3-strata.tsv. OUT_DIR must not be
crates/kith-text/data/eval once labelled: its real3.tsv would lose the labels.
"""

import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_eval_sample as base  # noqa: E402

SALT = "kith-real3/"
SITE = "history.meta.stackexchange.com"

STATUS_TAGS = ("status-completed", "status-bydesign", "status-declined", "status-norepro")
# Tags of site news and organised activity on history.meta (events, self-evaluation,
# promotion, pledges, the FAQ).
ANNOUNCE_TAGS = ("challenge", "site-evaluation", "winterbash", "site-promotion", "pledges", "faq")

# (stratum, quota), in precedence order. Fixed before any message was read.
QUOTAS = [
    ("se question feature-request", 36),
    ("se question bug", 20),
    ("se question support", 40),
    ("se question status-*", 20),
    ("se question event/evaluation/promotion/pledges/faq tags", 25),
    ("se community wiki or Community-owned post", 25),
    ("se user's first post", 50),
    ("se answer or comment under a feature-request/bug question", 50),
    ("se asker's comment on an answer to their question", 50),
    ("se post with negative score", 25),
    ("se question discussion", 40),
    ("se question other", 20),
    ("se answer", 60),
    ("se comment", 70),
    ("slack user's first plain message", 40),
    ("slack user's first plain message in #general", 10),
    ("slack #general first message of a day", 40),
    ("slack message with reactions", 30),
    ("slack #general", 40),
    ("slack #get_feedback", 30),
    ("slack #datajam", 30),
    ("slack other channels", 30),
]


def tags_of(post):
    return re.findall(r"<([^>]+)>", post.get("Tags", ""))


def se_structure(d):
    """Stratum and role of every Stack Exchange source note."""
    posts = {}
    for r in base.rows(os.path.join(d, "Posts.xml")):
        if r.get("PostTypeId") in ("1", "2"):
            posts[r["Id"]] = dict(r)
    comments = [dict(r) for r in base.rows(os.path.join(d, "Comments.xml"))]

    first_post = set()
    seen = set()
    for p in sorted(posts.values(), key=lambda p: (p.get("CreationDate", ""), int(p["Id"]))):
        u = p.get("OwnerUserId")
        if u and u != "-1" and u not in seen:
            seen.add(u)
            first_post.add(p["Id"])

    def question_of(p):
        return p if p["PostTypeId"] == "1" else posts.get(p.get("ParentId", ""), {})

    out = {}
    for pid, p in posts.items():
        src = f"{SITE} post {pid}"
        tags = tags_of(question_of(p))
        strata = []
        if p["PostTypeId"] == "1":
            for t in ("feature-request", "bug", "support"):
                if t in tags:
                    strata.append(f"se question {t}")
            if any(t in tags for t in STATUS_TAGS):
                strata.append("se question status-*")
            if any(t in tags for t in ANNOUNCE_TAGS):
                strata.append("se question event/evaluation/promotion/pledges/faq tags")
        if p.get("CommunityOwnedDate") or p.get("OwnerUserId") == "-1":
            strata.append("se community wiki or Community-owned post")
        if pid in first_post:
            strata.append("se user's first post")
        if p["PostTypeId"] == "2" and ("feature-request" in tags or "bug" in tags):
            strata.append("se answer or comment under a feature-request/bug question")
        if int(p.get("Score", "0")) < 0:
            strata.append("se post with negative score")
        if p["PostTypeId"] == "1":
            strata.append("se question discussion" if "discussion" in tags else "se question other")
        else:
            strata.append("se answer")
        out[src] = (strata, "opening" if p["PostTypeId"] == "1" else "reply")
    for c in comments:
        src = f"{SITE} comment {c['Id']}"
        p = posts.get(c.get("PostId", ""))
        strata = []
        if p is not None:
            q = question_of(p)
            tags = tags_of(q)
            if "feature-request" in tags or "bug" in tags:
                strata.append("se answer or comment under a feature-request/bug question")
            if (
                p["PostTypeId"] == "2"
                and c.get("UserId")
                and c.get("UserId") == q.get("OwnerUserId")
            ):
                strata.append("se asker's comment on an answer to their question")
        strata.append("se comment")
        out[src] = (strata, "reply")
    return out


def slack_structure(d):
    """Stratum and role of every Slack source note (plain messages, as base.slack keeps)."""
    users = {u["id"]: u for u in json.load(open(os.path.join(d, "users.json"), encoding="utf-8"))}
    msgs = []  # (ts float, channel, day, message)
    for ch in sorted(os.listdir(d)):
        cd = os.path.join(d, ch)
        if not os.path.isdir(cd):
            continue
        for f in sorted(glob.glob(os.path.join(cd, "*.json"))):
            day = os.path.basename(f)[: -len(".json")]
            for m in json.load(open(f, encoding="utf-8")):
                if m.get("type") == "message":
                    msgs.append((float(m["ts"]), ch, day, m))
    msgs.sort(key=lambda x: x[0])

    def plain(m):
        return (
            not m.get("subtype")
            and "bot_id" not in m
            and not users.get(m.get("user"), {}).get("is_bot")
        )

    first_ws, first_general, day_opened = set(), set(), set()
    seen_ws, seen_general = set(), set()
    out = {}
    for _, ch, day, m in msgs:
        human = plain(m) or m.get("subtype") == "file_share"
        opens = human and (ch, day) not in day_opened
        if human:
            day_opened.add((ch, day))
        if not plain(m):
            continue
        src = f"slack houstondatavis #{ch} {m['ts']}"
        u = m.get("user")
        strata = []
        if u not in seen_ws:
            seen_ws.add(u)
            strata.append("slack user's first plain message")
        if ch == "general" and u not in seen_general:
            seen_general.add(u)
            strata.append("slack user's first plain message in #general")
        if ch == "general" and opens:
            strata.append("slack #general first message of a day")
        if m.get("reactions"):
            strata.append("slack message with reactions")
        if f"#{ch}" in ("#general", "#get_feedback", "#datajam"):
            strata.append(f"slack #{ch}")
        else:
            strata.append("slack other channels")
        out[src] = (strata, "opening" if opens else "unknown")
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else None
    here = os.path.dirname(os.path.abspath(__file__))
    used = set()
    for name in ("real-sources.tsv", "real2-sources.tsv"):
        path = os.path.join(here, "..", "crates", "kith-text", "data", "eval", name)
        with open(path, encoding="utf-8") as f:
            used |= {line.rstrip("\n").split("\t")[1] for line in f.readlines()[1:] if "\t" in line}
    se = os.path.join(d, "stackexchange-history-meta")
    sl = os.path.join(d, "slack-export-houstondatavis")
    structure = se_structure(se)
    structure.update(slack_structure(sl))
    order = [name for name, _ in QUOTAS]
    pools = {name: [] for name in order}
    for src, _, text in list(base.stackexchange(se)) + list(base.slack(sl)):
        if src in used:
            continue
        strata, role = structure[src]
        first = min(strata, key=order.index)
        pools[first].append((base.fnv1a64(SALT + src), src, role, text))
    out, table = [], []
    for name, quota in QUOTAS:
        taken = 0
        start = len(out) + 1
        for _, src, role, text in sorted(pools[name]):
            if taken == quota:
                break
            if not text.strip():
                continue
            out.append((src, role, name, base.cut(text)))
            taken += 1
        ids = f"t{start:04d}-t{len(out):04d}" if taken else "-"
        table.append((name, quota, len(pools[name]), taken, ids))
        print(f"{name}: {taken} of {len(pools[name])} (quota {quota}) {ids}", file=sys.stderr)
    print(f"{len(out)} sampled", file=sys.stderr)
    rows = [(f"t{i:04d}", src, role, name, text) for i, (src, role, name, text) in enumerate(out, 1)]
    for r in rows:
        print("\t".join(r[:4]) + "\t" + base.escape(r[4]))
    if out_dir:
        base.write_sample(out_dir, "real3", rows, table)


if __name__ == "__main__":
    main()
