// common.h: what the kernels need from CUDA, spelled with clang's NVPTX
// builtins so the sources compile without the CUDA toolkit's headers
// (clang -nocudainc -nocudalib). Kernels use only +, *, / and these.
#pragma once

#ifdef HOST_EMU
// Host emulation (hostemu/emu.h): the same sources run as C++ threads in
// tests on machines without a GPU.
#include "hostemu/emu.h"
#else
#define KERNEL extern "C" __attribute__((global))
#define DEVICE static __attribute__((device)) inline
#define SHARED __attribute__((shared))

DEVICE int tid() { return __nvvm_read_ptx_sreg_tid_x(); }
DEVICE int bid() { return __nvvm_read_ptx_sreg_ctaid_x(); }
DEVICE int bdim() { return __nvvm_read_ptx_sreg_ntid_x(); }
DEVICE int gid() { return bid() * bdim() + tid(); }

// e^x through the hardware exp2 (about 2 ulp; the CPU reference uses
// float64 exp, so GPU logits differ from the CPU's in the last bits).
DEVICE float fexp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }
DEVICE float fsqrt(float x) { return __nvvm_sqrt_rn_f(x); }

DEVICE float shflXor(float v, int o) { return __nvvm_shfl_sync_bfly_f32(0xffffffff, v, o, 0x1f); }
#endif

// warpSum adds v over the 32 lanes of a warp (every lane gets the sum).
DEVICE float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += shflXor(v, o);
  return v;
}

DEVICE float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    float w = shflXor(v, o);
    v = w > v ? w : v;
  }
  return v;
}

// blockSum adds v over the block (blockDim.x a multiple of 32, at most
// 1024); every thread gets the sum. red holds 32 floats of shared memory.
DEVICE float blockSum(float v, float* red) {
  int lane = tid() & 31, warp = tid() >> 5, nw = (bdim() + 31) >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nw ? red[lane] : 0.0f;
  return warpSum(v);
}

DEVICE float blockMax(float v, float* red) {
  int lane = tid() & 31, warp = tid() >> 5, nw = (bdim() + 31) >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nw ? red[lane] : -3.402823466e+38f;
  return warpMax(v);
}
