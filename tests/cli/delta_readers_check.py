"""Checks a lake's Delta tables with the readers users have: `deltalake` (delta-rs's Python
package) and polars' `read_delta`.

usage: delta_readers_check.py LAKE [SQL_URL]

For every table with a `_delta_log`, both readers must return exactly the rows of the table's
committed Parquet files (read here with pyarrow, the `date` column from the folder name), and
the statistics in the log must be the files' own: row counts, and the minimum and maximum of
`seq` and `dsn` (or `stream`) where the table has them. With SQL_URL (a `dss-lake serve`'s
`/api/v1/sql` over the same lake), `SELECT *` of each table there must return those rows too.
Prints how many tables with rows agreed; exits non-zero on the first difference.
"""
import datetime
import io
import json
import os
import sys
import urllib.parse
import urllib.request

import deltalake
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

lake = sys.argv[1]
sql_url = sys.argv[2] if len(sys.argv) > 2 else None
TABLES = ["connectivity", "datapoint", "datapointack", "location", "registration", "quarantine", "gaps"]


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def committed_files(table):
    """(relative path, date) of every committed file, as dss-lake lays them out."""
    root = os.path.join(lake, table)
    for folder in sorted(os.listdir(root)):
        if not folder.startswith("date="):
            continue
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if name.endswith(".parquet") and not name.startswith(("_", ".")):
                yield f"{folder}/{name}", folder[len("date=") :]


def served(table):
    """`SELECT * FROM table` as `dss-lake serve` answers it, in Arrow IPC."""
    query = urllib.parse.urlencode({"q": f"SELECT * FROM {table}", "format": "arrow"})
    with urllib.request.urlopen(f"{sql_url}?{query}") as response:
        return pa.ipc.open_stream(io.BytesIO(response.read())).read_all()


def key(row):
    """A row as comparable text, whatever Python types a reader gives its values."""
    def plain(value):
        if isinstance(value, (datetime.datetime, datetime.date)):
            return value.isoformat()
        return value

    return json.dumps({k: plain(v) for k, v in sorted(row.items())}, default=str)


checked = 0
for table in TABLES:
    path = os.path.join(lake, table)
    if not os.path.isdir(os.path.join(path, "_delta_log")):
        continue
    expected, files = [], {}
    for relative, date in committed_files(table):
        data = pq.read_table(os.path.join(path, relative))
        files[relative] = data
        for row in data.to_pylist():
            row["date"] = datetime.date.fromisoformat(date)
            expected.append(key(row))
    expected.sort()

    dt = deltalake.DeltaTable(path)
    via_deltalake = sorted(key(r) for r in dt.to_pyarrow_table().to_pylist())
    if via_deltalake != expected:
        fail(f"{table}: deltalake read {len(via_deltalake)} rows, the files hold {len(expected)}")
    via_polars = sorted(key(r) for r in pl.read_delta(path).to_arrow().to_pylist())
    if via_polars != expected:
        fail(f"{table}: polars read {len(via_polars)} rows, the files hold {len(expected)}")
    if sql_url:
        via_serve = sorted(key(r) for r in served(table).to_pylist())
        if via_serve != via_deltalake:
            fail(f"{table}: dss-lake serve returned {len(via_serve)} rows, deltalake {len(via_deltalake)}")

    actions = pa.table(dt.get_add_actions(flatten=True)).to_pydict()
    logged = sorted(actions["path"])
    if logged != sorted(files):
        fail(f"{table}: the log names {logged}, the folder holds {sorted(files)}")
    for i, relative in enumerate(actions["path"]):
        data = files[relative]
        if actions["num_records"][i] != data.num_rows:
            fail(f"{table} {relative}: numRecords {actions['num_records'][i]}, {data.num_rows} rows")
        for column in ["seq", "dsn", "stream"]:
            if column not in data.column_names:
                continue
            low, high = pc.min(data[column]).as_py(), pc.max(data[column]).as_py()
            logged_range = (actions[f"min.{column}"][i], actions[f"max.{column}"][i])
            if logged_range != (low, high):
                fail(f"{table} {relative}: {column} stats {logged_range}, the file holds {(low, high)}")
    # A table with no rows yet (its log made, nothing committed) agrees vacuously: not counted.
    checked += 1 if expected else 0

if checked == 0:
    fail(f"no Delta table with rows under {lake}")
readers = "deltalake, polars and dss-lake serve" if sql_url else "deltalake and polars"
print(f"{checked} Delta tables read alike by {readers}")
