#!/usr/bin/env bash
# `npm test`: installs what is missing, starts Redis and a MongoDB-wire server, builds, runs the whole suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-chromium.sh
# actionlint for the CI workflow's test (test/workflows.integration.test.ts says what is missing when this fails)
ACTIONLINT="$(bash scripts/ensure-actionlint.sh)" || ACTIONLINT=
export ACTIONLINT
eval "$(bash scripts/services.sh)"
export MONGODB_URI REDIS_URL
npx vitest run "$@"
