#!/usr/bin/env bash
# gpu-check.sh: the runners/cuda checks that need a GPU. Run from anywhere
# on a machine with an NVIDIA driver, the CUDA headers (cuda.h) and Go:
#
#   scripts/gpu-check.sh            # build, golden, poison, tok/s
#
# 1. builds everything with -tags cuda (gorgonia.org/cu's cgo against the
#    installed cuda.h / libcuda),
# 2. TestGPUGolden: greedy stories260K output equals the llama2.c golden and
#    the CPU runner's (needs ../shared/models),
# 3. TestGPUPoisonRebuild: a trapping kernel poisons the context → session
#    fault → RebuildSession (new context, module, weights, canary) → the same
#    output again,
# 4. BenchmarkGPUDecode: tok/s, greedy, 128 tokens, 15M and 110M shapes.
#
# Set CGO_CFLAGS / CGO_LDFLAGS when CUDA is not under /usr/local/cuda.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
step() { printf '\n=== %s\n' "$*"; }
result() { if [ "$1" -eq 0 ]; then echo "RESULT: $2: PASS"; else echo "RESULT: $2: FAIL (exit $1)"; status=1; fi; }

step "device"
if command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader
else
	echo "nvidia-smi not found"
fi
go version

step "build -tags cuda"
go build -tags cuda ./... 2>&1 | tail -40
rc=${PIPESTATUS[0]}
result "$rc" "go build -tags cuda ./..."
if [ "$rc" -ne 0 ]; then
	echo "gorgonia.org/cu did not compile against this machine's CUDA; the error is above."
	exit 1
fi
go vet -tags cuda ./runners/cuda ./cmd/actorinfer
result $? "go vet -tags cuda"

step "golden + poison/rebuild on the GPU"
go test -tags cuda -count=1 -v -run 'TestGPU' ./runners/cuda 2>&1 | tee /tmp/gpu-check-tests.log | grep -E '^(=== RUN|--- |\s+gpu_test|PASS|FAIL|ok)|device 0|trap kernel|rebuild'
result "${PIPESTATUS[0]}" "TestGPUGolden + TestGPUPoisonRebuild"

step "the CPU suite, for comparison (fake driver)"
go test -count=1 ./runners/cuda
result $? "go test ./runners/cuda (fake driver)"

step "tok/s (greedy, 128 tokens from BOS)"
go test -tags cuda -run '^$' -bench GPUDecode -benchtime 3x ./runners/cuda 2>&1 | grep -E 'Benchmark|tok/s|FAIL|ok'
result "${PIPESTATUS[0]}" "BenchmarkGPUDecode"

echo
if [ "$status" -eq 0 ]; then echo "gpu-check: ALL PASS"; else echo "gpu-check: FAILURES (see RESULT lines)"; fi
exit "$status"
