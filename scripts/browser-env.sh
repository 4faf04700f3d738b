#!/usr/bin/env bash
# Makes sure headless Chromium, its WebDriver and selenium are there for the console's browser
# test: Debian's `chromium` and `chromium-driver` through apt (run as root, as CI does) when
# missing, and selenium into the project's venv (scripts/python-env.sh, plus one pin here).
# Idempotent and quiet; prints the venv's python on success.
#
#   py="$(scripts/browser-env.sh)" && "$py" crates/http/tests/python/console_browser.py ...
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${DSS_LAKE_VENV:-$repo/.venv}"
selenium_pin="selenium==4.51.0"

bash "$repo/scripts/python-env.sh"

# Two test processes may call this at once: the lock makes the second wait for the first.
exec 9>"$venv/.dss-lake-browser-lock"
flock 9

needed=()
command -v chromium >/dev/null || needed+=(chromium)
command -v chromedriver >/dev/null || needed+=(chromium-driver)
if ((${#needed[@]})); then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        echo "missing ${needed[*]}: install them (Debian: apt-get install chromium chromium-driver)" >&2
        exit 1
    fi
    # Fonts too, so screenshots show text and emoji as a person's browser would.
    needed+=(fonts-dejavu-core fonts-noto-color-emoji)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

stamp="$venv/.dss-lake-browser-pins"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$selenium_pin" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "$selenium_pin" >/dev/null
    printf '%s' "$selenium_pin" > "$stamp"
fi

echo "$venv/bin/python"
