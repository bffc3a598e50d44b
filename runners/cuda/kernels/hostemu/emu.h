// emu.h: just enough of CUDA to run the kernels on the host, one C++
// thread per CUDA thread, one block at a time (check.cpp). __syncthreads
// is a block barrier; a warp shuffle is an exchange through per-warp
// memory between two warp barriers. exp and sqrt are the C library's.
#pragma once
#include <math.h>
#include <pthread.h>

#define KERNEL extern "C"
#define DEVICE static inline
#define SHARED static

struct EmuThread {
  int tid, bid, bdim;
  pthread_barrier_t* block;
  pthread_barrier_t* warp;
  float* xchg;  // 32 floats per warp
};
extern thread_local EmuThread emu;

DEVICE int tid() { return emu.tid; }
DEVICE int bid() { return emu.bid; }
DEVICE int bdim() { return emu.bdim; }
DEVICE int gid() { return bid() * bdim() + tid(); }
DEVICE float fexp(float x) { return expf(x); }
DEVICE float fsqrt(float x) { return sqrtf(x); }
DEVICE void __syncthreads() { pthread_barrier_wait(emu.block); }
DEVICE float shflXor(float v, int o) {
  int lane = emu.tid & 31;
  pthread_barrier_wait(emu.warp);  // the previous exchange has been read
  emu.xchg[lane] = v;
  pthread_barrier_wait(emu.warp);
  return emu.xchg[lane ^ o];
}
