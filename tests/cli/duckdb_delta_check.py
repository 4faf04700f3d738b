"""Checks a lake's Delta tables with DuckDB's `delta_scan` (the `delta` extension, loaded from
the duckdb-ext-delta package; run with scripts/python-env.sh duckdb-delta's Python).

usage: duckdb_delta_check.py LAKE [SQL_URL]

For every table with a `_delta_log`, `delta_scan` must return exactly the rows that
`read_parquet` reads from the table's committed files (`date=*/*.parquet`, Hive-partitioned),
duplicates counted; with SQL_URL (a `dss-lake serve`'s `/api/v1/sql` over the same lake),
exactly the rows of `SELECT *` there too (fetched as Parquet). Exits non-zero on the first
difference.
"""
import glob
import os
import sys
import tempfile
import urllib.parse
import urllib.request

import duckdb
import duckdb_ext

lake = sys.argv[1]
sql_url = sys.argv[2] if len(sys.argv) > 2 else None
scratch = tempfile.mkdtemp()
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
    delta = f"delta_scan('{path}')"
    if not glob.glob(os.path.join(path, "date=*", "*.parquet")):
        rows = con.execute(f"SELECT count(*) FROM {delta}").fetchone()[0]
        if rows:
            sys.exit(f"{table}: delta_scan read {rows} rows of a table without files")
        continue
    files = f"read_parquet('{path}/date=*/*.parquet', hive_partitioning = true)"
    columns = ", ".join(
        f'"{name}"' for (name,) in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {files})").fetchall()
    )
    sources = [(delta, files), (files, delta)]
    if sql_url:
        query = urllib.parse.urlencode({"q": f"SELECT * FROM {table}", "format": "parquet"})
        answer = os.path.join(scratch, f"{table}.parquet")
        with urllib.request.urlopen(f"{sql_url}?{query}") as response, open(answer, "wb") as out:
            out.write(response.read())
        served = f"read_parquet('{answer}')"
        sources += [(delta, served), (served, delta)]
    for left, right in sources:
        extra = con.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {left} EXCEPT ALL SELECT {columns} FROM {right})"
        ).fetchone()[0]
        if extra:
            sys.exit(f"{table}: {extra} rows of {left} are not in {right}")
    # A table with no rows yet (its log made, nothing committed) agrees vacuously: not counted.
    checked += 1 if con.execute(f"SELECT count(*) FROM {delta}").fetchone()[0] else 0

if checked == 0:
    sys.exit(f"no Delta table with rows under {lake}")
against = " and dss-lake serve" if sql_url else ""
print(f"{checked} Delta tables read alike by DuckDB's delta_scan{against}")
