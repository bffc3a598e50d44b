package local

import "testing"

var kernelBenchCols = 768

// Kernel micro-benchmarks on cache-resident data: multiply-adds per second.
func BenchmarkKernels(b *testing.B) {
	n := kernelBenchCols
	w := make([]float32, n)
	x := make([]float32, 8*n)
	for i := range w {
		w[i] = float32(i%7) * 0.1
	}
	for i := range x {
		x[i] = float32(i%5) * 0.1
	}
	var out [maxBatchLimit][]float32
	for i := range out[:8] {
		out[i] = make([]float32, 64)
	}
	wm := make([]float32, 64*n)
	for _, nb := range []int{1, 4, 8} {
		b.Run("f32-batch"+string(rune('0'+nb)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				matvecF32(wm, 0, 64, n, x, nb, &out)
			}
			b.ReportMetric(float64(b.N)*64*float64(n)*float64(nb)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
	q := make([]int8, 64*n)
	s := make([]float32, 64*n/32)
	m := &matrix{rows: 64, cols: n, q: q, s: s, gs: 32}
	if packQ8OK(m.gs) {
		packQ8(m)
	}
	acts := newQ8Acts(8, n, 32)
	for _, nb := range []int{1, 4, 8} {
		acts.quantize(x, nb, n, 32)
		b.Run("q8-batch"+string(rune('0'+nb)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				matvecQ8(m, 0, 64, acts, nb, &out)
			}
			b.ReportMetric(float64(b.N)*64*float64(n)*float64(nb)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
