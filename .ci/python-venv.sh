#!/usr/bin/env bash
# Creates (or updates) the Python venv the integration tests use: target/venv, with the
# packages listed in .ci/requirements.txt. Prints the interpreter's path on its last line.
# Idempotent: re-running only installs what changed. Needs python3 with the venv module
# (Debian: python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/venv
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update && apt-get install -y python3-venv
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/.requirements"
if ! cmp -s .ci/requirements.txt "$stamp" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r .ci/requirements.txt
  cp .ci/requirements.txt "$stamp"
fi
echo "$PWD/$venv/bin/python"
