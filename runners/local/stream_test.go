package local

import "testing"

var streamRows = 1 << 17

// BenchmarkStreamMatvec streams a DRAM-resident matrix through matvecF32:
// the decode loop's matrix products without the rest of a step.
func BenchmarkStreamMatvec(b *testing.B) {
	cols, rows := 768, streamRows // 400 MB: far beyond the caches
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(i&15) * 0.01
	}
	x := make([]float32, 8*cols)
	var out [maxBatchLimit][]float32
	for i := range out[:8] {
		out[i] = make([]float32, rows)
	}
	for _, nb := range []int{1, 4, 8} {
		b.Run(string(rune('0'+nb)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				matvecF32(w, 0, rows, cols, x, nb, &out)
			}
			b.ReportMetric(float64(b.N)*float64(rows*cols)*float64(nb)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			b.ReportMetric(float64(b.N)*float64(rows*cols)*4/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
