#!/usr/bin/env bash
# The project's test command (README.md): every package, with the race
# detector. Tests that need ../shared/models fail in CI (CI=true) when it is
# absent and skip elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -count=1 -timeout 20m ./...
# Without the race detector: the 42M and 110M shapes against the float64
# reference (too slow under -race); then the portable kernels (other
# architectures, CPUs without AVX2/FMA).
go test -count=1 ./runners/local
go test -tags purego -count=1 ./runners/local
