#!/usr/bin/env bash
# `npm run web:screenshots`: refreshes the dashboard's screenshots in docs/screenshots (1400×900), taken by
# the browser tests as they walk through the main pages on a throw-away stack (the test ports).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CHRONOS_WEB_SCREENSHOTS="$PWD/docs/screenshots" bash scripts/test.sh test/web/dashboard.e2e.test.ts
