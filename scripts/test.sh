#!/usr/bin/env bash
# The README's test command: install, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The demo's screenshot test needs an X server; install Xvfb when it is missing (Debian).
if ! command -v Xvfb >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb python3-tk >/dev/null) \
    || echo "warning: could not install Xvfb; the demo screenshot test will be skipped"
fi
export TF_CPP_MIN_LOG_LEVEL=3
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 tests
