// rope.cu: rotary position embedding, llama2.c layout (adjacent pairs).
#include "common.h"

// rope: for every head of size headSize in v[0:n], rotate the pair
// (v[2i], v[2i+1]) by the angle whose cosine and sine are cs[i], sn[i]
// (the position's row of the host-computed tables).
KERNEL void rope(float* v, const float* cs, const float* sn, int n, int headSize) {
  int p = gid();  // pair index
  if (2 * p >= n) return;
  int i = p % (headSize / 2);
  float a = v[2 * p], b = v[2 * p + 1];
  v[2 * p] = a * cs[i] - b * sn[i];
  v[2 * p + 1] = a * sn[i] + b * cs[i];
}
