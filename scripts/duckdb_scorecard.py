#!/usr/bin/env python3
"""The DuckDB side of `cargo xtask bench scorecard` (SPEC §9 "versus DuckDB").

Loads the canonical tables exported as CSV (`scorecard_timings export`) into DuckDB tables of
an in-memory database (timed: the load), creates the report calendar, then runs every metric's
reference SQL exactly as kith binds it (`queries.json`, written by `scorecard_timings warm
--out`): once untimed, then --reps times, and reports each metric's median. Every result is
compared with kith's (`kith_results.json`): the free cross-check that the reference SQL runs
unchanged on DuckDB and gives kith's numbers.

Prints flat JSON ("key": number per line) like the Rust side.
"""

import argparse
import decimal
import json
import math
import statistics
import sys
import threading
import time
from pathlib import Path

import duckdb

def same(kith, duck):
    """A kith cell and a DuckDB value agree: NULLs, text and integers exactly, reals to 1e-9
    relative (DuckDB sums in parallel, in another order)."""
    if kith is None or duck is None:
        return kith is None and duck is None
    if isinstance(kith, str) or isinstance(duck, str):
        return kith == duck
    if isinstance(duck, decimal.Decimal):
        duck = float(duck)
    if isinstance(kith, int) and isinstance(duck, int):
        return kith == duck
    a, b = float(kith), float(duck)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def compare(name, kith_tables, duck_tables):
    """None when every table, row and cell agrees; else the first difference."""
    if len(kith_tables) != len(duck_tables):
        return f"{name}: {len(kith_tables)} tables from kith, {len(duck_tables)} from DuckDB"
    for t, (k_rows, d_rows) in enumerate(zip(kith_tables, duck_tables)):
        if len(k_rows) != len(d_rows):
            return f"{name} table {t}: {len(k_rows)} rows from kith, {len(d_rows)} from DuckDB"
        for r, (k, d) in enumerate(zip(k_rows, d_rows)):
            if len(k) != len(d) or not all(same(x, y) for x, y in zip(k, d)):
                return f"{name} table {t} row {r}:\n  kith:   {k}\n  duckdb: {list(d)}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True, type=Path, help="folder of schema.sql and the CSVs")
    ap.add_argument("--sql", required=True, type=Path,
                    help="folder of queries.json and kith_results.json")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds after which a metric's query is interrupted (reported as -1)")
    args = ap.parse_args()

    con = duckdb.connect()
    out = {"duckdb_version": duckdb.__version__, "threads": con.execute(
        "SELECT current_setting('threads')").fetchone()[0]}

    start = time.perf_counter()
    # schema.sql creates every exported table (the text scores too); each has its CSV.
    tables = []
    for stmt in (args.csv / "schema.sql").read_text().split(";"):
        if stmt.strip():
            con.execute(stmt)
            tables.append(stmt.split()[2])
    for table in tables:
        path = (args.csv / f"{table}.csv").resolve()
        con.execute(f"COPY {table} FROM '{path}' (FORMAT csv, HEADER, NULL '', QUOTE '\"')")
    out["load_s"] = round(time.perf_counter() - start, 6)
    out["rows.activities"] = con.execute("SELECT COUNT(*) FROM activities").fetchone()[0]

    queries = json.loads((args.sql / "queries.json").read_text())
    kith = json.loads((args.sql / "kith_results.json").read_text())
    for stmt in queries["setup"]:
        con.execute(stmt)

    total = 0.0
    mismatches = 0
    timed_out = 0
    for name, statements in queries["metrics"].items():
        def run():
            # Interrupted when it runs past the timeout (some plans are quadratic in DuckDB).
            timer = threading.Timer(args.timeout, con.interrupt)
            timer.start()
            try:
                return [con.execute(s).fetchall() for s in statements]
            finally:
                timer.cancel()

        t = time.perf_counter()
        try:
            result = run()  # the first run also plans the queries: not counted
        except (duckdb.InterruptException, RuntimeError) as e:
            if time.perf_counter() - t < args.timeout:
                raise
            print(f"{name}: interrupted after {args.timeout:.0f} s", file=sys.stderr)
            out[f"metric.{name}"] = -1
            timed_out += 1
            continue
        times = []
        for _ in range(max(args.reps, 1)):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        median = statistics.median(times)
        total += median
        out[f"metric.{name}"] = round(median, 6)
        if name not in kith:
            print(f"{name}: no kith result to compare with", file=sys.stderr)
            mismatches += 1
            continue
        diff = compare(name, kith[name], result)
        if diff:
            mismatches += 1
            print(f"DuckDB and kith differ: {diff}", file=sys.stderr)
    out["timed_out"] = timed_out
    out["timeout_s"] = args.timeout
    out["total_s"] = round(total, 6)
    out["metrics"] = len(queries["metrics"])
    out["mismatches"] = mismatches
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
