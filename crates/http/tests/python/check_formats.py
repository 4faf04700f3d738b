"""Checks that every result format of the SQL endpoint parses in its natural reader and gives the
same rows as DuckDB over the same Parquet files.

usage: check_formats.py BASE_URL LAKE QUERIES_DIR

Natural readers: pandas for csv, json and ndjson; pyarrow for arrow (IPC stream) and parquet;
polars for arrow too. Each result is normalised per column, guided by DuckDB's Arrow type
(timestamps to UTC ISO strings, floats rounded to 9 significant digits, CSV's text lists back
to lists), then compared row by row with DuckDB's answer.
"""

import datetime as dt
import io
import math
import os
import sys
import urllib.parse

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "scripts"))
import duckdb_lake  # noqa: E402

SCANS = {
    "scan_datapoint": "SELECT * FROM datapoint ORDER BY stream, seq",
    "scan_datapointack": "SELECT * FROM datapointack ORDER BY stream, seq",
    "scan_connectivity": "SELECT * FROM connectivity ORDER BY stream, seq",
    "scan_location": "SELECT * FROM location ORDER BY stream, seq",
    "scan_registration": "SELECT * FROM registration ORDER BY stream, seq",
    "scan_quarantine": "SELECT * FROM quarantine ORDER BY stream, received_at",
    "scan_gaps": "SELECT * FROM gaps ORDER BY stream, received_seq",
    "twin_latest": "SELECT * FROM twin_latest ORDER BY dsn, property_name",
    "device_status": "SELECT * FROM device_status ORDER BY dsn",
    "device_location": "SELECT * FROM device_location ORDER BY dsn",
}


def url(base, sql, fmt):
    return f"{base}/api/v1/sql?q={urllib.parse.quote(sql)}&format={fmt}"


def fetch(base, sql, fmt):
    response = requests.get(url(base, sql, fmt), timeout=60)
    response.raise_for_status()
    return response.content


def readers(base, sql):
    """Each format read the way a notebook would read it, as (name, pandas DataFrame)."""
    yield "json/pandas", pd.read_json(io.BytesIO(fetch(base, sql, "json")), orient="records", dtype=False)
    yield "ndjson/pandas", pd.read_json(io.BytesIO(fetch(base, sql, "ndjson")), lines=True, dtype=False)
    yield "csv/pandas", pd.read_csv(url(base, sql, "csv"), keep_default_na=True)
    yield "arrow/pyarrow", ipc.open_stream(fetch(base, sql, "arrow")).read_all().to_pandas()
    yield "parquet/pyarrow", pq.read_table(io.BytesIO(fetch(base, sql, "parquet"))).to_pandas()
    yield "arrow/polars", pl.read_ipc_stream(io.BytesIO(fetch(base, sql, "arrow"))).to_pandas()


def is_null(v):
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, (str, bytes, list, tuple, dict)) or hasattr(v, "__len__"):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def norm(value, arrow_type, from_text):
    if is_null(value) or (from_text and value == ""):
        return None
    if pa.types.is_timestamp(arrow_type):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.isoformat()
    if pa.types.is_date(arrow_type):
        if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
            return pd.Timestamp(value).date().isoformat()
        if isinstance(value, (int,)) or (hasattr(value, "dtype") and str(getattr(value, "dtype", "")).startswith("int")):
            return (dt.date(1970, 1, 1) + dt.timedelta(days=int(value))).isoformat()
        return str(value)[:10]
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        f = float(value)
        return float(f"{f:.9g}")
    if pa.types.is_integer(arrow_type):
        return int(value)
    if pa.types.is_boolean(arrow_type):
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        if isinstance(value, str):
            inner = value.strip()[1:-1]
            return [] if inner == "" else [p.strip() for p in inner.split(",")]
        return [str(v) for v in list(value)]
    return str(value)


def rows(frame, schema, from_text):
    assert list(frame.columns) == schema.names, f"columns {list(frame.columns)} != {schema.names}"
    out = []
    for record in frame.itertuples(index=False, name=None):
        out.append([norm(v, f.type, from_text) for v, f in zip(record, schema)])
    return out


def main():
    base, lake, queries_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    con = duckdb_lake.connect(lake)
    cases = dict(SCANS)
    for name in sorted(os.listdir(queries_dir)):
        if name.endswith(".sql"):
            with open(os.path.join(queries_dir, name)) as f:
                cases[name[:-4]] = f.read()
    passed, failed = 0, 0
    for name, sql in cases.items():
        try:
            reference = con.sql(sql).arrow().read_all()
        except Exception as e:  # noqa: BLE001 - report which case broke, then fail
            print(f"DUCKDB FAILED {name}: {e}\n{sql}", file=sys.stderr)
            failed += 1
            continue
        expected = rows(reference.to_pandas(), reference.schema, False)
        for reader, frame in readers(base, sql):
            got = rows(frame, reference.schema, reader.startswith("csv"))
            if got == expected:
                passed += 1
            else:
                failed += 1
                print(f"MISMATCH {name} via {reader}:\n  duckdb:   {expected}\n  endpoint: {got}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
