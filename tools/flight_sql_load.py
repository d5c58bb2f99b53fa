#!/usr/bin/env python3
"""Load test for `ember server`: N concurrent Flight SQL clients (ADBC) run a mix of TPC-H
queries for a fixed time; prints queries per second and latency percentiles, and exits
non-zero if any query failed.

    python3 tools/flight_sql_load.py --address 127.0.0.1:50051 --user ember --password ... \\
        [--clients 16] [--duration 60] [--queries 1,3,6,12,14]

The server must already have the TPC-H tables (CREATE TABLE lineitem ... for each table); with
--data DIR this tool creates them first. Use tools/python/venv.sh for a Python with ADBC.
"""

import argparse
import pathlib
import statistics
import sys
import threading
import time

import adbc_driver_flightsql.dbapi as flightsql

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", required=True, help="HOST:PORT of ember server")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--queries", default="1,3,5,6,10,12,14,19",
                        help="TPC-H query numbers to cycle through")
    parser.add_argument("--data", help="TPC-H Parquet directory: create the tables first")
    args = parser.parse_args()

    kwargs = {"username": args.user, "password": args.password} if args.user else {}
    uri = f"grpc://{args.address}"
    queries = [(f"q{int(q):02d}", (ROOT / "tpch" / "queries" / f"q{int(q):02d}.sql").read_text())
               for q in args.queries.split(",")]

    if args.data:
        with flightsql.connect(uri, db_kwargs=kwargs, autocommit=True) as conn, conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {table} USING parquet LOCATION '{args.data}/{table}'")

    latencies = []
    failures = []
    lock = threading.Lock()
    start_barrier = threading.Barrier(args.clients + 1)
    deadline = [0.0]

    def client(index):
        try:
            conn = flightsql.connect(uri, db_kwargs=kwargs, autocommit=True)
        except Exception as e:
            with lock:
                failures.append(f"client {index} could not connect: {e}")
            start_barrier.wait()
            return
        start_barrier.wait()
        i = index
        with conn, conn.cursor() as cur:
            while time.perf_counter() < deadline[0]:
                name, sql = queries[i % len(queries)]
                i += 1
                began = time.perf_counter()
                try:
                    cur.execute(sql)
                    cur.fetch_arrow_table()
                except Exception as e:
                    with lock:
                        failures.append(f"{name}: {e}")
                    continue
                elapsed = time.perf_counter() - began
                with lock:
                    latencies.append((name, elapsed))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + args.duration
    began = time.perf_counter()
    start_barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began

    all_ms = sorted(l * 1000 for _, l in latencies)
    print(f"clients: {args.clients}, duration: {wall:.1f} s, queries: {len(latencies)}, failed: {len(failures)}")
    print(f"queries per second: {len(latencies) / wall:.1f}")
    print("latency ms: p50 {:.1f}  p90 {:.1f}  p99 {:.1f}  max {:.1f}".format(
        percentile(all_ms, 50), percentile(all_ms, 90), percentile(all_ms, 99),
        all_ms[-1] if all_ms else float("nan")))
    for name, _ in queries:
        mine = sorted(l * 1000 for n, l in latencies if n == name)
        if mine:
            print(f"  {name}: n={len(mine)} p50 {percentile(mine, 50):.1f} ms  p99 {percentile(mine, 99):.1f} ms  "
                  f"mean {statistics.fmean(mine):.1f} ms")
    for failure in failures[:10]:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures or not latencies else 0


if __name__ == "__main__":
    sys.exit(main())
