"""DuckDB over a dss-lake lake: the reference the SQL endpoint is checked and benchmarked against.

`connect(lake)` returns a DuckDB connection with one view per lake table (the same committed
files the engine reads: in-flight `_*`, hidden `.*`, `_checkpoints` and empty files skipped, the
`date=` folders as a DATE partition column) and the twin views from
`crates/query/src/views/*.sql`, with DataFusion's `last_value(x ORDER BY ...)` aggregate spelled
`last(x ORDER BY ...)` as DuckDB wants it.
"""

import os
import re

import duckdb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = ["connectivity", "datapoint", "datapointack", "location", "registration", "quarantine", "gaps"]
VIEWS = ["twin_latest", "device_status", "device_location"]


def committed_files(lake, table):
    """The committed Parquet files of one table, sorted."""
    found = []
    root = os.path.join(lake, table)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        for name in files:
            path = os.path.join(folder, name)
            if name.startswith(("_", ".")) or not name.endswith(".parquet"):
                continue
            if os.path.islink(path) or os.path.getsize(path) == 0:
                continue
            found.append(path)
    return sorted(found)


def view_sql(name):
    with open(os.path.join(REPO, "crates", "query", "src", "views", name + ".sql")) as f:
        return re.sub(r"\blast_value\(", "last(", f.read())


def connect(lake, threads=None):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for table in TABLES:
        files = committed_files(lake, table)
        if not files:
            continue
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{listing}], hive_partitioning = true)"
        )
    for view in VIEWS:
        try:
            con.execute(f"CREATE VIEW {view} AS {view_sql(view)}")
        except duckdb.Error:
            pass  # a table it needs has no files yet
    return con
