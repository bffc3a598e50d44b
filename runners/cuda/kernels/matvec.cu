// matvec.cu: fp32 matrix × vector, one warp per output row.
#include "common.h"

// matvec: out[r] = Σ_c w[r·cols + c] · x[c] for r < rows. Launch with
// blocks of 256 threads (8 rows each) and ceil(rows/8) blocks.
KERNEL void matvec(float* out, const float* w, const float* x, int rows, int cols) {
  int lane = tid() & 31;
  int r = bid() * (bdim() >> 5) + (tid() >> 5);
  if (r >= rows) return;
  const float* row = w + (long)r * cols;
  float s = 0.0f;
  for (int c = lane; c < cols; c += 32) s += row[c] * x[c];
  s = warpSum(s);
  if (lane == 0) out[r] = s;
}
