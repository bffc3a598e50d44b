#!/usr/bin/env bash
# The project's test command (README.md): every package, with the race
# detector. Tests that need ../shared/models fail in CI (CI=true) when it is
# absent and skip elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -count=1 -timeout 20m ./...
# The portable kernels (other architectures, CPUs without AVX2/FMA).
go test -tags purego -count=1 ./runners/local
