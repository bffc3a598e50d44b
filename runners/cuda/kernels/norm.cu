// norm.cu: RMSNorm and the element-wise kernels of the residual stream.
#include "common.h"

// rmsnorm: out = w · x / sqrt(mean(x²) + eps). One block.
KERNEL void rmsnorm(float* out, const float* x, const float* w, int n, float eps) {
  SHARED float red[32];
  float ss = 0.0f;
  for (int i = tid(); i < n; i += bdim()) ss += x[i] * x[i];
  ss = blockSum(ss, red);
  float scale = 1.0f / fsqrt(ss / (float)n + eps);
  for (int i = tid(); i < n; i += bdim()) out[i] = w[i] * (scale * x[i]);
}

// add: x += y.
KERNEL void add(float* x, const float* y, int n) {
  int i = gid();
  if (i < n) x[i] += y[i];
}

// swiglu: hb = silu(hb) · hb2, silu(v) = v / (1 + e^-v).
KERNEL void swiglu(float* hb, const float* hb2, int n) {
  int i = gid();
  if (i < n) {
    float v = hb[i];
    hb[i] = v * (1.0f / (1.0f + fexp(-v))) * hb2[i];
  }
}
