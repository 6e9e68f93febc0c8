#!/usr/bin/env python3
"""A/B timing of `scorecard_timings` builds on one database (docs/benchmarks.md, Scorecard).

    scripts/scorecard_ab.py cold|warm N DB BIN [BIN...]

Runs each binary in turn, N rounds (`BIN cold DB` or `BIN warm DB --reps 3`), and prints per run
the binary's figures, its own CPU time (user + sys) and the CPU the rest of the machine used
meanwhile (from /proc/stat), so that a run disturbed by another process shows as such. Run it
under /work/quiet.sh; never build meanwhile. Linux only (/proc/stat)."""
import json
import os
import subprocess
import sys


def busy():
    """CPU-seconds the machine spent busy since boot (not idle, not waiting for I/O)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("cold", "warm"):
        sys.exit(__doc__)
    mode, n, db, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    # The database's file into the OS page cache first, as the xtask bench does.
    subprocess.run(["cat", db], stdout=subprocess.DEVNULL, check=True)
    keys = (
        ["build_s", "compute_s", "total_s", "peak_kib"]
        if mode == "cold"
        else ["warm_median_s", "warm_min_s", "scope_s", "sequential_median_s",
              "metric.network", "metric.engagement_levels"]
    )
    for i in range(n):
        for b in bins:
            args = [b, mode, db] + (["--reps", "3"] if mode == "warm" else [])
            b0, r0 = busy(), os.times()
            out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
            r1, b1 = os.times(), busy()
            own = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
            d = json.loads(out)
            figures = " ".join(f"{k}={d.get(k)}" for k in keys)
            print(f"{b} run{i + 1} {figures} cpu={own:.2f} others={b1 - b0 - own:.2f}", flush=True)


main()
