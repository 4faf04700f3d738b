#!/usr/bin/env bash
# Creates (or reuses) the project's Python environment at $REPO/.venv with the pinned packages
# the notebook example, the format checks, the DuckDB comparisons and the Delta readers' checks
# use. Idempotent: a venv
# whose pins already match is left alone. Prints nothing but errors; exits non-zero on failure.
#
#   scripts/python-env.sh && .venv/bin/python examples/notebook.py http://127.0.0.1:8080
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${DSS_LAKE_VENV:-$repo/.venv}"
python="${PYTHON:-python3}"

# One pin per line; the stamp file records the set a venv was built with.
pins="pandas==3.1.1
pyarrow==26.0.1
polars==2.1.0
duckdb==2.0.0
deltalake==1.6.6
requests==2.34.2"
stamp="$venv/.dss-lake-pins"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
    exit 0
fi

# Two test processes may call this at once: the lock makes the second wait for the first.
mkdir -p "$venv"
exec 9>"$venv/.dss-lake-lock"
flock 9
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv" >/dev/null
fi
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input $pins >/dev/null
printf '%s' "$pins" > "$stamp"
