#!/usr/bin/env bash
# `npm run bench`: the benchmarks of bench/README.md; prints figures beside their baselines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-chromium.sh
eval "$(bash scripts/services.sh)"
export MONGODB_URI REDIS_URL
node bench/run.mjs "$@"
