#!/usr/bin/env bash
# `npm start`: install, build, start Redis + a MongoDB-wire server, then the collector (with its worker),
# a demo site and a demo page that tracks into it. Ctrl-C stops the collector and the page.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
eval "$(bash scripts/services.sh)"
export MONGODB_URI REDIS_URL
exec node scripts/start.mjs "$@"
