#!/usr/bin/env python3
"""Distributions of the health index components in the real community samples, measured with
the kith binary (docs/health-index.md, "How the thresholds were set").

Usage: python3 scripts/health_index_calibration.py KITH_BINARY [DATA_DIR] [WORK_DIR]
  DATA_DIR default: $KITH_SHARED_DATA or ../shared/data; WORK_DIR default: a temporary folder.

Python 3 standard library only. Each sample is imported into its own SQLite database
(`kith import`), then `kith report --as-of T --format json` is run for T = the latest activity
and every 30 days before it until a window has no activity; the health index's window 0 (the 30
days up to T) of each report is one observation. The windows tile the history without
overlapping. Prints nearest-rank quantiles of every component, the scores under the thresholds
kith ships, and the index.
"""

import datetime
import json
import math
import os
import subprocess
import sys
import tempfile

SAMPLES = [
    ("slack-houstondatavis", "slack-export", "slack-export-houstondatavis"),
    ("stackexchange-history-meta", "stackexchange", "stackexchange-history-meta"),
    ("mbox-r-package-devel", "mbox", "mbox-r-package-devel"),
]
COMPONENTS = [
    "participation",
    "retention",
    "responsiveness",
    "peer_support",
    "conversation_quality",
    "sentiment",
    "growth",
]


def quantile(values, p):
    values = sorted(values)
    return values[max(0, math.ceil(p * len(values)) - 1)] if values else None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kith = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("KITH_SHARED_DATA", "../shared/data")
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="kith-health-")

    def run(db, *args):
        r = subprocess.run([kith, "--database", db, *args], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"kith {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def health(db, as_of=None):
        args = ["report", "--format", "json"] + (["--as-of", as_of] if as_of else [])
        report = json.loads(run(db, *args))
        metric = next(m for m in report["metrics"] if m["metric"] == "health_index")
        tables = {t["name"]: t for t in metric["tables"]}
        return report["report"]["as_of"], tables

    for name, fmt, folder in SAMPLES:
        db = os.path.join(work, f"{name}.db")
        if not os.path.exists(db):
            run(db, "import", fmt, os.path.join(data, folder))
        latest, tables = health(db)
        thresholds = {
            r[0]: [float(x) for x in r[6].split()]
            for r in tables["components"]["rows"]
            if r[6] is not None
        }
        rows = []
        t = latest
        while len(rows) < 500:
            stamp = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            _, tables = health(db, stamp)
            windows = tables["windows"]
            now = dict(zip(windows["columns"], windows["rows"][-1]))
            if now["participation"] is None and now["responsiveness"] is None:
                break
            rows.append(now)
            t -= 30 * 86400
        print(f"\n{name}: {len(rows)} windows of 30 days")
        for c in COMPONENTS:
            values = [r[c] for r in rows if r.get(c) is not None]
            if not values:
                print(f"  {c:15s} no data")
                continue
            qs = " ".join(f"p{int(p * 100)}={quantile(values, p):.3f}" for p in (0.1, 0.25, 0.5, 0.75, 0.9))
            scores = [sum(v >= x for x in thresholds[c]) for v in values]
            hist = " ".join(f"{s}:{scores.count(s)}" for s in range(6))
            print(f"  {c:15s} n={len(values):3d} {qs}   scores {hist}")
        index = [r["index"] for r in rows if r["index"] is not None]
        qs = " ".join(f"p{int(p * 100)}={quantile(index, p):.0f}" for p in (0.1, 0.25, 0.5, 0.75, 0.9))
        print(f"  {'index':15s} n={len(index):3d} {qs}")


if __name__ == "__main__":
    main()
