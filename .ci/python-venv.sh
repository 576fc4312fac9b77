#!/usr/bin/env bash
# Creates (or updates) the Python virtual environment target/venv from .ci/requirements.txt and
# prints its path. Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/venv
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r .ci/requirements.txt
echo "$venv"
