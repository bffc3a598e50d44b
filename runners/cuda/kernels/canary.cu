// canary.cu: the health probe run after every session rebuild, and a
// kernel that traps (the poison test).
#include "common.h"

// canary: out = 2·in + 1; the runner checks every value.
KERNEL void canary(float* out, const float* in, int n) {
  int i = gid();
  if (i < n) out[i] = 2.0f * in[i] + 1.0f;
}

// trap: aborts the kernel; the context is lost (CUDA_ERROR_LAUNCH_FAILED).
KERNEL void trap() { __builtin_trap(); }
