#!/usr/bin/env bash
# Installs npm dependencies when they are missing or older than the lockfile, then builds every package.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "deps: building packages" >&2
npx turbo run build --output-logs=errors-only >&2
