// attention.cu: causal attention of one position over a KV cache, in three
// kernels (scores, softmax, weighted values), one block per head.
#include "common.h"

// attn_scores: att[h·stride + t] = q_h · k[t·kvDim + (h/kvMul)·headSize] / scale
// for t ≤ pos.
KERNEL void attn_scores(float* att, const float* q, const float* k, int heads, int pos,
                        int headSize, int kvDim, int kvMul, int stride, float scale) {
  int h = bid();
  if (h >= heads) return;
  const float* qh = q + h * headSize;
  const float* kh = k + (h / kvMul) * headSize;
  for (int t = tid(); t <= pos; t += bdim()) {
    const float* kt = kh + (long)t * kvDim;
    float s = 0.0f;
    for (int i = 0; i < headSize; i++) s += qh[i] * kt[i];
    att[h * stride + t] = s / scale;
  }
}

// softmax: normalise the first n values of each of rows rows (one block
// per row, rows stride apart).
KERNEL void softmax(float* x, int rows, int n, int stride) {
  SHARED float red[32];
  int r = bid();
  if (r >= rows) return;
  float* row = x + (long)r * stride;
  float m = -3.402823466e+38f;
  for (int i = tid(); i < n; i += bdim()) m = row[i] > m ? row[i] : m;
  m = blockMax(m, red);
  float s = 0.0f;
  for (int i = tid(); i < n; i += bdim()) {
    float e = fexp(row[i] - m);
    row[i] = e;
    s += e;
  }
  s = blockSum(s, red);
  for (int i = tid(); i < n; i += bdim()) row[i] /= s;
}

// attn_values: out_h[i] = Σ_{t ≤ pos} att[h·stride + t] · v[t·kvDim + (h/kvMul)·headSize + i].
KERNEL void attn_values(float* out, const float* att, const float* v, int heads, int pos,
                        int headSize, int kvDim, int kvMul, int stride) {
  int h = bid();
  if (h >= heads) return;
  const float* ah = att + h * stride;
  const float* vh = v + (h / kvMul) * headSize;
  for (int i = tid(); i < headSize; i += bdim()) {
    float s = 0.0f;
    for (int t = 0; t <= pos; t++) s += ah[t] * vh[(long)t * kvDim + i];
    out[h * headSize + i] = s;
  }
}
