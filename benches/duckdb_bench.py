"""DuckDB side of `cargo bench --bench query`: median latency of each queries/*.sql.

usage: duckdb_bench.py LAKE QUERIES_DIR RUNS THREADS
Prints one line per query: name, median milliseconds, rows (tab-separated). Each query runs once
to warm up, then RUNS timed times, fetched into Arrow as the dss-lake engine collects batches.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import duckdb_lake  # noqa: E402


def main():
    lake, queries_dir, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    con = duckdb_lake.connect(lake, threads=threads)
    for name in sorted(os.listdir(queries_dir)):
        if not name.endswith(".sql"):
            continue
        with open(os.path.join(queries_dir, name)) as f:
            sql = f.read()
        times, rows = [], 0
        for run in range(runs + 1):
            start = time.perf_counter()
            rows = con.sql(sql).arrow().read_all().num_rows
            if run:
                times.append((time.perf_counter() - start) * 1e3)
        print(f"{name[:-4]}\t{statistics.median(times):.3f}\t{rows}", flush=True)


if __name__ == "__main__":
    main()
