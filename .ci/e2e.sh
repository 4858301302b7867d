#!/usr/bin/env bash
# The end-to-end suite on real Redis (tests/e2e, pytest), as .ci/run calls it. Installs its
# Python tools into .venv-e2e from the pinned tests/e2e/requirements.txt (quick when present).
# Needs root (network and mount namespaces); under CI=true a missing capability fails.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-e2e
REQ=tests/e2e/requirements.txt
stamp="$VENV/.requirements.sha256"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$stamp"
fi

export REDKUBE_BIN="${REDKUBE_BIN:-$PWD/target/debug/redkube}"
export E2E_FIGURES="${E2E_FIGURES:-$PWD/target/e2e-figures.json}"
# pytest prints figures with -s; -rA lists every outcome at the end.
exec timeout 900 "$VENV/bin/python" -m pytest tests/e2e -s -rfEs -p no:cacheprovider --durations=15
