#!/usr/bin/env bash
# Install the test dependencies and run the whole suite: ruff, mypy on the library, pytest.
# The same command runs on a developer's machine and in CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
bash scripts/install-system-deps.sh
# Chromium for `capture`; where it cannot be installed the capture tests say so and skip.
bash scripts/install-browser.sh || echo "warning: Chromium could not be installed; capture tests will be skipped" >&2
# Anvil (an Ethereum node) and solc for the chain tests come from npm, pinned by package-lock.json.
if [ -f package-lock.json ] && command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "== ruff"
python3 -m ruff check evidencectl tests benchmarks examples
python3 -m ruff format --check evidencectl tests benchmarks examples
echo "== mypy (strict, library)"
python3 -m mypy
echo "== pytest"
python3 -m pytest -n 2 -q "$@"
