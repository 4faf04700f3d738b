# %% [markdown]
# # Querying the dss-lake SQL endpoint from a notebook
#
# `dss-lake serve --lake lake` answers SQL at `/api/v1/sql` in the format each tool reads
# fastest. Run this file as a script (`python examples/notebook.py http://127.0.0.1:8080`) or
# cell by cell in Jupyter/VS Code. Set `DSS_LAKE_TOKEN` if the server was started with `--token`.
# The Python environment: `scripts/python-env.sh` then `.venv/bin/python`.

# %%
import io
import os
import sys
import urllib.parse

import pandas as pd
import polars as pl
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import requests

BASE = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DSS_LAKE_URL", "http://127.0.0.1:8080")
TOKEN = os.environ.get("DSS_LAKE_TOKEN", "")
HEADERS = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}


def sql_url(sql, fmt):
    """A GET URL for `sql`: what pandas.read_csv / read_json can open directly."""
    return f"{BASE}/api/v1/sql?format={fmt}&q={urllib.parse.quote(sql)}"


def post(sql, fmt):
    """POST the SQL as JSON and return the raw bytes (for the binary formats)."""
    response = requests.post(f"{BASE}/api/v1/sql", json={"sql": sql, "format": fmt}, headers=HEADERS, timeout=120)
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.text}")
    return response.content


# %% [markdown]
# ## What is in the lake

# %%
tables = requests.get(f"{BASE}/api/v1/tables", headers=HEADERS, timeout=30).json()["tables"]
print("tables:", ", ".join(f"{t['name']} ({t['kind']}, {len(t['columns'])} columns)" for t in tables))

# %% [markdown]
# ## One freezer's temperature over a day — pandas reads CSV straight from a URL

# %%
freezer = pd.read_csv(
    sql_url(
        "SELECT created_at, value_num AS temp_c FROM datapoint "
        "WHERE date = '2026-11-24' AND dsn = 'AC000W000000001' AND property_name = 'temp_c' "
        "ORDER BY created_at",
        "csv",
    ),
    parse_dates=["created_at"],
    storage_options=HEADERS or None,
)
print(f"freezer readings: {len(freezer)}, min {freezer.temp_c.min()} °C, max {freezer.temp_c.max()} °C")

# %% [markdown]
# ## Which devices are offline — pandas reads the JSON array of objects

# %%
offline = pd.read_json(
    io.BytesIO(post("SELECT dsn, oem_model, status, since FROM device_status ORDER BY dsn", "json")),
    orient="records",
)
print("device status:\n", offline.to_string(index=False))

# %% [markdown]
# ## Hourly averages per model — pyarrow reads the Arrow IPC stream (zero parsing)

# %%
hourly = ipc.open_stream(
    post(
        "SELECT oem_model, property_name, date_trunc('hour', created_at) AS hour, avg(value_num) AS average "
        "FROM datapoint WHERE value_num IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "arrow",
    )
).read_all()
print(f"hourly averages: {hourly.num_rows} rows, schema {hourly.schema.names}")

# %% [markdown]
# ## The chattiest properties — pyarrow reads a Parquet result

# %%
chatty = pq.read_table(
    io.BytesIO(post("SELECT property_name, count(*) AS events FROM datapoint GROUP BY 1 ORDER BY 2 DESC, 1", "parquet"))
)
print("chattiest:", chatty.to_pylist()[:3])

# %% [markdown]
# ## The digital twin — polars reads Arrow IPC too

# %%
twin = pl.read_ipc_stream(io.BytesIO(post("SELECT * FROM twin_latest ORDER BY dsn, property_name", "arrow")))
print("twin:", twin.shape, twin.columns)
print("notebook ok")
