// check.cpp: runs every kernel of kernels.cu under the host emulation
// (emu.h) with the launch shapes runners/cuda uses, on odd sizes, and
// compares with plain double-precision loops. Exit status 0: all agree.
// Built and run by TestKernelsOnHostEmulator.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <functional>
#include <thread>
#include <vector>

#include "../kernels.cu"

thread_local EmuThread emu;

static void launch(int grid, int block, std::function<void()> body) {
  for (int b = 0; b < grid; b++) {
    pthread_barrier_t bb;
    pthread_barrier_init(&bb, nullptr, block);
    int nw = (block + 31) / 32;
    std::vector<pthread_barrier_t> wb(nw);
    std::vector<float> xchg(32 * nw);
    for (int w = 0; w < nw; w++) {
      int n = block - 32 * w < 32 ? block - 32 * w : 32;
      pthread_barrier_init(&wb[w], nullptr, n);
    }
    std::vector<std::thread> ts;
    for (int t = 0; t < block; t++) {
      ts.emplace_back([&, t] {
        emu = EmuThread{t, b, block, &bb, &wb[t / 32], &xchg[32 * (t / 32)]};
        body();
      });
    }
    for (auto& t : ts) t.join();
    for (auto& w : wb) pthread_barrier_destroy(&w);
    pthread_barrier_destroy(&bb);
  }
}

static unsigned long long rng = 88172645463325252ULL;
static float rnd() {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((rng >> 40) / (double)(1 << 23) - 1.0);
}
static std::vector<float> rvec(int n) {
  std::vector<float> v(n);
  for (auto& x : v) x = rnd();
  return v;
}

static int failures = 0;
static void expect(const char* name, const std::vector<float>& got, const std::vector<double>& want, double tol) {
  double worst = 0;
  int at = -1;
  for (size_t i = 0; i < want.size(); i++) {
    double e = fabs(got[i] - want[i]) / (fabs(want[i]) + 1e-3);
    if (!(e <= worst)) worst = e, at = (int)i;
  }
  if (worst > tol || worst != worst) {
    printf("FAIL %s: relative error %g at %d (got %g, want %g)\n", name, worst, at, got[at], want[at]);
    failures++;
  } else {
    printf("PASS %s (max relative error %.2g)\n", name, worst);
  }
}

static int blocks(int n, int per) { return (n + per - 1) / per; }

int main() {
  const double tol = 1e-4;
  {  // matvec: 37 rows of 70, blocks of 8 warps
    int rows = 37, cols = 70;
    auto w = rvec(rows * cols), x = rvec(cols);
    std::vector<float> out(rows);
    std::vector<double> want(rows);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) want[r] += (double)w[r * cols + c] * x[c];
    launch(blocks(rows, 8), 256, [&] { matvec(out.data(), w.data(), x.data(), rows, cols); });
    expect("matvec", out, want, tol);
  }
  {  // rmsnorm: n = 300 > block
    int n = 300;
    float eps = 1e-5f;
    auto x = rvec(n), w = rvec(n);
    std::vector<float> out(n);
    std::vector<double> want(n);
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double s = 1 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) want[i] = w[i] * s * x[i];
    launch(1, 256, [&] { rmsnorm(out.data(), x.data(), w.data(), n, eps); });
    expect("rmsnorm", out, want, tol);
  }
  {  // rope: 3 heads of 8 at one position
    int n = 24, hs = 8;
    auto v = rvec(n), cs = rvec(hs / 2), sn = rvec(hs / 2);
    std::vector<double> want(n);
    for (int h = 0; h < n; h += hs)
      for (int i = 0; i < hs / 2; i++) {
        double a = v[h + 2 * i], b = v[h + 2 * i + 1];
        want[h + 2 * i] = a * cs[i] - b * sn[i];
        want[h + 2 * i + 1] = a * sn[i] + b * cs[i];
      }
    launch(blocks(n / 2, 256), 256, [&] { rope(v.data(), cs.data(), sn.data(), n, hs); });
    expect("rope", v, want, tol);
  }
  // attention: 6 heads of 8, 2 KV heads (kvMul 3), position 9, stride 12
  int heads = 6, hs = 8, kvMul = 3, kvDim = hs * heads / kvMul, pos = 9, stride = 12;
  float scale = sqrtf((float)hs);
  auto q = rvec(heads * hs), k = rvec((pos + 1) * kvDim), v = rvec((pos + 1) * kvDim);
  std::vector<float> att(heads * stride);
  std::vector<double> scores(heads * stride), probs(heads * stride);
  for (int h = 0; h < heads; h++)
    for (int t = 0; t <= pos; t++) {
      double s = 0;
      for (int i = 0; i < hs; i++) s += (double)q[h * hs + i] * k[t * kvDim + (h / kvMul) * hs + i];
      scores[h * stride + t] = s / scale;
    }
  launch(heads, 256, [&] { attn_scores(att.data(), q.data(), k.data(), heads, pos, hs, kvDim, kvMul, stride, scale); });
  {
    std::vector<float> got;
    std::vector<double> want;
    for (int h = 0; h < heads; h++)
      for (int t = 0; t <= pos; t++) got.push_back(att[h * stride + t]), want.push_back(scores[h * stride + t]);
    expect("attn_scores", got, want, tol);
  }
  for (int h = 0; h < heads; h++) {
    double m = -1e300, sum = 0;
    for (int t = 0; t <= pos; t++) m = fmax(m, scores[h * stride + t]);
    for (int t = 0; t <= pos; t++) sum += exp(scores[h * stride + t] - m);
    for (int t = 0; t <= pos; t++) probs[h * stride + t] = exp(scores[h * stride + t] - m) / sum;
  }
  launch(heads, 256, [&] { softmax(att.data(), heads, pos + 1, stride); });
  {
    std::vector<float> got;
    std::vector<double> want;
    for (int h = 0; h < heads; h++)
      for (int t = 0; t <= pos; t++) got.push_back(att[h * stride + t]), want.push_back(probs[h * stride + t]);
    expect("softmax", got, want, tol);
  }
  {
    std::vector<float> out(heads * hs);
    std::vector<double> want(heads * hs);
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < hs; i++)
        for (int t = 0; t <= pos; t++) want[h * hs + i] += probs[h * stride + t] * v[t * kvDim + (h / kvMul) * hs + i];
    launch(heads, 64, [&] { attn_values(out.data(), att.data(), v.data(), heads, pos, hs, kvDim, kvMul, stride); });
    expect("attn_values", out, want, tol);
  }
  {  // swiglu, add, canary: n = 300 over blocks of 256
    int n = 300;
    auto a = rvec(n), b = rvec(n);
    std::vector<double> sw(n), ad(n), ca(n);
    for (int i = 0; i < n; i++) {
      sw[i] = a[i] / (1 + exp(-(double)a[i])) * b[i];
      ad[i] = (double)a[i] + b[i];
      ca[i] = 2.0 * a[i] + 1;
    }
    auto hb = a;
    launch(blocks(n, 256), 256, [&] { swiglu(hb.data(), b.data(), n); });
    expect("swiglu", hb, sw, tol);
    auto x = a;
    launch(blocks(n, 256), 256, [&] { add(x.data(), b.data(), n); });
    expect("add", x, ad, tol);
    std::vector<float> out(n);
    launch(blocks(n, 256), 256, [&] { canary(out.data(), a.data(), n); });
    expect("canary", out, ca, 0);
  }
  if (failures) printf("%d kernel(s) disagree\n", failures);
  return failures ? 1 : 0;
}
