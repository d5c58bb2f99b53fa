#!/usr/bin/env bash
# Creates (once) the Python environment the client tests use, under target/ so that
# `cargo clean` removes it, and prints its python's path. Re-installs when requirements.txt
# changes. Needs python3 with venv and pip and a reachable PyPI (or a pip.conf mirror).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
requirements="$root/tools/python/requirements.txt"
venv="${EMBER_PYTHON_VENV:-$root/target/python-venv}"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    command -v "$python" >/dev/null || { echo "python3 is needed for the Flight SQL client tests" >&2; exit 1; }
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
