"""Checks a lake's Delta tables with DuckDB's `delta_scan` (the `delta` extension, loaded from
the duckdb-ext-delta package; run with scripts/python-env.sh duckdb-delta's Python).

usage: duckdb_delta_check.py LAKE

For every table with a `_delta_log`, `delta_scan` must return exactly the rows that
`read_parquet` reads from the table's committed files (`date=*/*.parquet`, Hive-partitioned),
duplicates counted. Exits non-zero on the first difference.
"""
import glob
import os
import sys

import duckdb
import duckdb_ext

lake = sys.argv[1]
TABLES = ["connectivity", "datapoint", "datapointack", "location", "registration", "quarantine", "gaps"]

extension = glob.glob(
    os.path.join(os.path.dirname(duckdb_ext.__file__ or list(duckdb_ext.__path__)[0]), "**", "delta.duckdb_extension"),
    recursive=True,
)
if not extension:
    sys.exit("the duckdb-ext-delta package holds no delta.duckdb_extension")
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
con.execute(f"LOAD '{extension[0]}'")

checked = 0
for table in TABLES:
    path = os.path.join(lake, table)
    if not os.path.isdir(os.path.join(path, "_delta_log")):
        continue
    files = f"read_parquet('{path}/date=*/*.parquet', hive_partitioning = true)"
    delta = f"delta_scan('{path}')"
    columns = ", ".join(
        f'"{name}"' for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {files})").fetchall()
    )
    for left, right in [(delta, files), (files, delta)]:
        extra = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {left} EXCEPT ALL SELECT {columns} FROM {right})"
        ).fetchone()[0]
        if extra:
            sys.exit(f"{table}: {extra} rows of {left} are not in {right}")
    rows = con.execute(f"SELECT count(*) FROM {delta}").fetchone()[0]
    if rows == 0:
        sys.exit(f"{table}: delta_scan read no rows")
    checked += 1

if checked == 0:
    sys.exit(f"no Delta table under {lake}")
print(f"{checked} Delta tables read alike by DuckDB's delta_scan")
