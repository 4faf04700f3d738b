#!/usr/bin/env bash
# Creates (or reuses) one of the project's Python environments with pinned packages. Idempotent:
# a venv whose pins already match is left alone. Prints nothing but errors; exits non-zero on
# failure.
#
#   scripts/python-env.sh                # $REPO/.venv: the notebook example, the format checks,
#                                        # the DuckDB comparisons, the deltalake/polars checks
#   scripts/python-env.sh duckdb-delta   # $REPO/.venv-duckdb-delta: DuckDB with its `delta`
#                                        # extension from PyPI, which exists for duckdb 1.4.4
#                                        # (not the 2.0.0 the first one pins)
#
#   scripts/python-env.sh && .venv/bin/python examples/notebook.py http://127.0.0.1:8080
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

# One pin per line; the stamp file records the set a venv was built with.
case "${1:-main}" in
    main)
        venv="${DSS_LAKE_VENV:-$repo/.venv}"
        pins="pandas==3.1.1
pyarrow==26.0.1
polars==2.1.0
duckdb==2.0.0
deltalake==1.6.6
requests==2.34.2"
        ;;
    duckdb-delta)
        venv="$repo/.venv-duckdb-delta"
        pins="duckdb==1.4.4
duckdb-ext-delta==1.4.4.20260205"
        ;;
    *) echo "unknown environment $1 (main or duckdb-delta)" >&2; exit 2 ;;
esac
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
