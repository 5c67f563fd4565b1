#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core; no browser is downloaded.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "chromium: installing Debian's chromium with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } ||
    { echo "chromium: apt-get install chromium failed; install it to run the browser tests" >&2; exit 1; }
else
  echo "chromium: /usr/bin/chromium is missing; install Debian's chromium (apt-get install chromium)" >&2
  exit 1
fi
