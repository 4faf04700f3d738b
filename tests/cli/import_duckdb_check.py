"""Checks a lake written by `dss-lake import` with DuckDB, the way a user would read it.

usage: import_duckdb_check.py LAKE ARCHIVE BAD_LINES_FILE

Every valid event of ARCHIVE (lines of `LEN|json` frames or bare JSON) must be in its table
exactly once, with exact values in the typed columns; every bad line must be in quarantine
with its raw text. Exits non-zero with a message on the first difference.
"""
import json
import sys
from datetime import datetime, timezone

import duckdb

lake, archive, bad_file = sys.argv[1:4]
TABLES = ["connectivity", "datapoint", "datapointack", "location", "registration"]


def ts(text):
    """Microseconds since the epoch, as DuckDB's epoch_us() gives them (no pytz needed)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


bad = [line.rstrip("\n") for line in open(bad_file, encoding="utf-8") if line.strip()]
expected = {t: {} for t in TABLES}
for line in open(archive, encoding="utf-8"):
    line = line.strip()
    if not line or line in bad:
        continue
    payload = line.split("|", 1)[1] if line[0].isdigit() else line
    event = json.loads(payload)
    expected[event["metadata"]["event_type"]][int(event["seq"])] = event

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")


def rows(table, columns):
    glob = f"{lake}/{table}/date=*/*.parquet"
    query = f"SELECT {columns} FROM read_parquet('{glob}', hive_partitioning = true)"
    return con.execute(query).fetchall()


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


for table in TABLES:
    seqs = [r[0] for r in rows(table, "seq")]
    if len(seqs) != len(set(seqs)):
        fail(f"{table}: duplicate seq")
    if set(seqs) != set(expected[table]):
        fail(f"{table}: {len(seqs)} rows, expected {len(expected[table])}")

for seq, dsn, prop, value_json, value_num, created_at, echo, date in rows(
    "datapoint", "seq, dsn, property_name, value_json, value_num, epoch_us(created_at), echo, date"
):
    e = expected["datapoint"][seq]
    dp = e["datapoint"]
    if dsn != e["metadata"]["dsn"] or prop != e["metadata"]["property_name"]:
        fail(f"datapoint {seq}: dsn/property differ")
    if json.loads(value_json) != dp["value"]:
        fail(f"datapoint {seq}: value_json {value_json!r} != {dp['value']!r}")
    v = dp["value"]
    numeric = float(v) if isinstance(v, (int, float, bool)) else None
    if isinstance(v, str):
        try:
            numeric = float(v)
        except ValueError:
            numeric = None
    if numeric != value_num:
        fail(f"datapoint {seq}: value_num {value_num} != {numeric}")
    if created_at != ts(dp["created_at"]) or echo != dp["echo"]:
        fail(f"datapoint {seq}: created_at/echo differ")
    if str(date) != dp["created_at"][:10]:
        fail(f"datapoint {seq}: partition {date} != event date {dp['created_at'][:10]}")

for seq, status, event_time in rows("connectivity", "seq, status, epoch_us(event_time)"):
    c = expected["connectivity"][seq]["connection"]
    if status != c["status"] or event_time != ts(c["event_time"]):
        fail(f"connectivity {seq} differs")

for seq, lat, long, created_at in rows("location", "seq, lat, long, epoch_us(created_at)"):
    loc = expected["location"][seq]["location_event"]
    if lat != float(loc["lat"]) or long != float(loc["long"]) or created_at != ts(loc["created_at"]):
        fail(f"location {seq} differs")

for seq, registered, rtype in rows("registration", "seq, registered, registration_type"):
    r = expected["registration"][seq]["registration_event"]
    if registered != r["registered"] or rtype != r["registration_type"]:
        fail(f"registration {seq} differs")

for seq, status, acked_at in rows("datapointack", "seq, ack_status, epoch_us(acked_at)"):
    a = expected["datapointack"][seq]
    body = a.get("datapoint", a.get("datapointack"))
    if status != body["ack_status"] or acked_at != ts(body["acked_at"]):
        fail(f"datapointack {seq} differs")

raw = sorted(r[0] for r in rows("quarantine", "raw"))
if raw != sorted(bad):
    fail(f"quarantine holds {raw!r}, expected {sorted(bad)!r}")
print("ok", {t: len(expected[t]) for t in TABLES}, "quarantined", len(bad))
