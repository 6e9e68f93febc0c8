#!/usr/bin/env python3
"""Shapes of the real community samples, to compare with the generator (docs/generator.md).

Usage: python3 scripts/real_shapes.py [DATA_DIR]   (default: $KITH_SHARED_DATA or ../shared/data)

Python 3 standard library only. These are close to, not exactly, kith's metrics; how each
figure is counted is printed with it and explained in docs/generator.md:
- participation: Slack plain messages and file shares; every mail; Stack Exchange questions,
  answers and comments.
- members: Slack users.json minus bots; distinct mail senders (display name + address);
  Stack Exchange Users.xml (id > 0) plus one anonymous member per owner-less row.
- top 1 %: share of participation by the ceil(1 %) most active members.
- weekday/weekend: mean participation per weekday vs per weekend day (UTC), over the span.
- threads (mail): a message without In-Reply-To/References that resolve to a known message
  opens a thread; the response is the earliest message in the thread by another sender.
  unanswered = threads without one (threads opened in the last 30 days are left out).
- response effect: day-30 retention (participation on days 30-59 after the first) of members
  whose first participation opened a thread answered within 24 h, vs never answered.
"""

import email.utils
import glob
import json
import math
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timezone

DAY = 86400


def concentration(counts, members):
    counts = sorted(counts, reverse=True) + [0] * max(0, members - len(counts))
    total = sum(counts)
    top = sum(counts[: math.ceil(len(counts) / 100)])
    participants = [c for c in counts if c > 0]
    return {
        "members": len(counts),
        "participants": len(participants),
        "top1_share": top / total if total else 0,
        "at_most_one_share": sum(1 for c in counts if c <= 1) / len(counts),
        "one_and_done_share": sum(1 for c in participants if c == 1) / len(participants),
    }


def weekday_ratio(times):
    days = defaultdict(int)
    for t in times:
        days[int(t // DAY)] += 1
    first, last = min(days), max(days)
    wd, wdn, we, wen = 0, 0, 0, 0
    for d in range(first + 1, last):
        if (d + 3) % 7 >= 5:
            we, wen = we + days.get(d, 0), wen + 1
        else:
            wd, wdn = wd + days.get(d, 0), wdn + 1
    return (wd / wdn) / (we / wen) if we else float("inf")


def threads_and_effect(events, opened, responses, as_of):
    """events: (ts, member) participations; opened: thread -> (ts, author);
    responses: thread -> earliest response delay (s)."""
    closed = [t for t, (ts, _) in opened.items() if t in responses or as_of - ts >= 30 * DAY]
    delays = sorted(responses[t] for t in closed if t in responses)
    unanswered = sum(1 for t in closed if t not in responses)
    median = delays[math.ceil(0.5 * len(delays)) - 1] / 3600 if delays else float("nan")
    p90 = delays[math.ceil(0.9 * len(delays)) - 1] / 3600 if delays else float("nan")
    first, retained = {}, set()
    for ts, m in sorted(events):
        if m not in first:
            first[m] = ts
        elif 30 <= (ts - first[m]) // DAY <= 59:
            retained.add(m)
    first_thread = {}
    for t, (ts, author) in opened.items():
        if first.get(author) == ts:
            first_thread[author] = t
    groups = {"fast": [0, 0], "never": [0, 0]}
    for m, t in first_thread.items():
        if as_of - first[m] < 60 * DAY:
            continue
        d = responses.get(t)
        g = "never" if d is None else ("fast" if d <= DAY else None)
        if g:
            groups[g][0] += 1
            groups[g][1] += m in retained
    rate = lambda g: groups[g][1] / groups[g][0] if groups[g][0] else float("nan")
    return {
        "threads": len(closed),
        "ttfr_median_h": median,
        "ttfr_p90_h": p90,
        "unanswered_share": unanswered / len(closed) if closed else float("nan"),
        "retained_fast": f"{rate('fast'):.3f} (n={groups['fast'][0]})",
        "retained_never": f"{rate('never'):.3f} (n={groups['never'][0]})",
    }


def slack(root):
    users = json.load(open(os.path.join(root, "users.json"), encoding="utf-8"))
    humans = {u["id"] for u in users if not u.get("is_bot")}
    counts, times = defaultdict(int), []
    for path in glob.glob(os.path.join(root, "*", "*.json")):
        for m in json.load(open(path, encoding="utf-8")):
            if m.get("type") != "message" or m.get("subtype") not in (None, "file_share"):
                continue
            if m.get("user") in humans:
                counts[m["user"]] += 1
                times.append(float(m["ts"]))
    out = concentration(list(counts.values()), len(humans))
    out["weekday_weekend"] = weekday_ratio(times)
    out["participation"] = len(times)
    return out


ENVELOPE = re.compile(r"^From .+ \w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\s*$")
IDS = re.compile(r"<[^>]+>")


def mbox(root):
    msgs = []
    for path in sorted(glob.glob(os.path.join(root, "*.txt"))):
        cur = None
        in_headers = False
        for line in open(path, encoding="utf-8", errors="replace"):
            if ENVELOPE.match(line):
                cur = {"from": "", "date": None, "id": None, "refs": []}
                msgs.append(cur)
                in_headers = True
                continue
            if not in_headers or cur is None:
                continue
            if line.strip() == "":
                in_headers = False
                continue
            key, _, value = line.partition(":")
            key = key.lower()
            if key == "from":
                cur["from"] = value.strip().lower()
            elif key == "date":
                try:
                    cur["date"] = email.utils.parsedate_to_datetime(value.strip()).timestamp()
                except (TypeError, ValueError):
                    pass
            elif key == "message-id":
                m = IDS.search(value)
                cur["id"] = m.group(0) if m else None
            elif key in ("in-reply-to", "references"):
                cur["refs"] += IDS.findall(value)
    seen, unique = set(), []
    for m in msgs:
        if m["date"] is None or (m["id"] and m["id"] in seen):
            continue
        seen.add(m["id"])
        unique.append(m)
    unique.sort(key=lambda m: m["date"])
    by_id, root_of = {}, {}
    opened, responses, events = {}, {}, []
    counts = defaultdict(int)
    for i, m in enumerate(unique):
        who = m["from"]
        counts[who] += 1
        events.append((m["date"], who))
        parent = next((r for r in reversed(m["refs"]) if r in by_id), None)
        if parent is None:
            root = i
            opened[root] = (m["date"], who)
        else:
            root = root_of[by_id[parent]]
            ts, author = opened[root]
            if who != author and root not in responses:
                responses[root] = m["date"] - ts
        if m["id"]:
            by_id[m["id"]] = i
        root_of[i] = root
    out = concentration(list(counts.values()), len(counts))
    out["weekday_weekend"] = weekday_ratio([m["date"] for m in unique])
    out["participation"] = len(unique)
    out.update(threads_and_effect(events, opened, responses, unique[-1]["date"]))
    return out


def se_time(text):
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def rows(path):
    for _, el in ET.iterparse(path):
        if el.tag == "row":
            yield el.attrib
            el.clear()


def stackexchange(root):
    users = sum(1 for u in rows(os.path.join(root, "Users.xml")) if int(u["Id"]) > 0)
    counts, times, events = defaultdict(int), [], []
    anon = 0
    questions, answers = {}, {}
    opened, responses = {}, {}

    def member(owner):
        nonlocal anon
        if owner is None:
            anon += 1
            return f"anon{anon}"
        return owner

    posts = list(rows(os.path.join(root, "Posts.xml")))
    comments = list(rows(os.path.join(root, "Comments.xml")))
    for p in posts:
        who = member(p.get("OwnerUserId"))
        ts = se_time(p["CreationDate"])
        counts[who] += 1
        times.append(ts)
        events.append((ts, who))
        if p["PostTypeId"] == "1":
            questions[p["Id"]] = who
            opened[p["Id"]] = (ts, who)
        elif p["PostTypeId"] == "2":
            answers[p["Id"]] = p.get("ParentId")
    for c in comments:
        who = member(c.get("UserId"))
        ts = se_time(c["CreationDate"])
        counts[who] += 1
        times.append(ts)
        events.append((ts, who))
    for p in posts:
        q = p.get("ParentId")
        if p["PostTypeId"] == "2" and q in opened:
            who = p.get("OwnerUserId") or "anon-answer" + p["Id"]
            qts, asker = opened[q]
            d = se_time(p["CreationDate"]) - qts
            if who != asker and (q not in responses or d < responses[q]):
                responses[q] = d
    for c in comments:
        q = c.get("PostId")
        if q in opened:
            who = c.get("UserId") or "anon-comment" + c["Id"]
            qts, asker = opened[q]
            d = se_time(c["CreationDate"]) - qts
            if who != asker and (q not in responses or d < responses[q]):
                responses[q] = d
    as_of = se_time("2018-10-01T00:00:00")
    out = concentration(list(counts.values()), users + anon)
    out["weekday_weekend"] = weekday_ratio(times)
    out["participation"] = len(times)
    out.update(threads_and_effect(events, opened, responses, as_of))
    return out


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    for name, fn, folder in [
        ("Slack houstondatavis", slack, "slack-export-houstondatavis"),
        ("mbox r-package-devel", mbox, "mbox-r-package-devel"),
        ("Stack Exchange history.meta (as of 2018-10-01)", stackexchange, "stackexchange-history-meta"),
    ]:
        path = os.path.join(data, folder)
        if not os.path.isdir(path):
            print(f"{name}: {path} not found, skipped")
            continue
        print(name)
        for k, v in fn(path).items():
            print(f"  {k:20} {v:.3f}" if isinstance(v, float) else f"  {k:20} {v}")


if __name__ == "__main__":
    main()
