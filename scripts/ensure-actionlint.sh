#!/usr/bin/env bash
# actionlint (github.com/rhysd/actionlint, MIT) checks .github/workflows/ci.yml, which cannot run here. Prints the
# path of the binary; installs the pinned version with `go install` when it is missing and Go is there.
set -euo pipefail
VERSION=v1.7.12
if command -v actionlint >/dev/null; then command -v actionlint; exit 0; fi
if command -v go >/dev/null; then
  BIN="$(go env GOPATH)/bin/actionlint"
  if [[ ! -x $BIN ]] || ! "$BIN" -version | grep -qx "$VERSION"; then
    echo "actionlint: installing $VERSION with go install" >&2
    GOFLAGS=-buildvcs=false go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2 ||
      { echo "actionlint: go install failed; install actionlint $VERSION to check the CI workflow" >&2; exit 1; }
  fi
  echo "$BIN"
  exit 0
fi
echo "actionlint: neither actionlint nor Go is installed; install Go (https://go.dev/dl) or actionlint $VERSION" >&2
exit 1
