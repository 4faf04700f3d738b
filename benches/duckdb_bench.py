"""DuckDB side of `cargo bench --bench query`, run in step with the dss-lake engine.

usage: duckdb_bench.py LAKE THREADS
Reads one SQL file path per line on stdin, runs that file's query once over the lake (fetched
into Arrow, as the dss-lake engine collects batches) and answers with one line: milliseconds and
rows, tab-separated. The caller alternates these runs with its own, so both engines see the same
machine load.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import duckdb_lake  # noqa: E402


def main():
    lake, threads = sys.argv[1], int(sys.argv[2])
    con = duckdb_lake.connect(lake, threads=threads)
    queries = {}
    for line in sys.stdin:
        path = line.strip()
        if path not in queries:
            with open(path) as f:
                queries[path] = f.read()
        start = time.perf_counter()
        rows = con.sql(queries[path]).arrow().read_all().num_rows
        elapsed = (time.perf_counter() - start) * 1e3
        print(f"{elapsed:.3f}\t{rows}", flush=True)


if __name__ == "__main__":
    main()
