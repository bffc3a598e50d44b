package train

import "golang.org/x/sys/cpu"

// useSIMD selects the AVX2+FMA float32 kernels.
var useSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotSIMD is dotGo for float32 with AVX2 and FMA.
func dotSIMD(a, b []float32) float32 {
	b = b[:len(a)]
	return dotAVX2(a, b)
}

// axpySIMD is axpyGo for float32 with AVX2 and FMA.
func axpySIMD(a float32, x, y []float32) {
	y = y[:len(x)]
	axpyAVX2(a, x, y)
}

//go:noescape
func dotAVX2(a, b []float32) float32

//go:noescape
func axpyAVX2(a float32, x, y []float32)

//go:noescape
func axpy4AVX2(a *[4]float32, x *float32, stride int, y *float32, n int)

//go:noescape
func dot4AVX2(x *float32, w *float32, stride int, n int, out *[4]float32)

// axpy4SIMD is axpy4Go for float32 with AVX2 and FMA.
func axpy4SIMD(a *[4]float32, x []float32, stride int, y []float32) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = x[3*stride+n-1]
	m := n &^ 7
	if m > 0 {
		axpy4AVX2(a, &x[0], stride, &y[0], m)
	}
	for i := m; i < n; i++ {
		y[i] += a[0]*x[i] + a[1]*x[stride+i] + a[2]*x[2*stride+i] + a[3]*x[3*stride+i]
	}
}

// dot4SIMD is dot4Go for float32 with AVX2 and FMA.
func dot4SIMD(x, w []float32, stride int, out *[4]float32) {
	n := len(x)
	if n == 0 {
		*out = [4]float32{}
		return
	}
	_ = w[3*stride+n-1]
	m := n &^ 7
	if m > 0 {
		dot4AVX2(&x[0], &w[0], stride, m, out)
	} else {
		*out = [4]float32{}
	}
	for i := m; i < n; i++ {
		for r := range out {
			out[r] += x[i] * w[r*stride+i]
		}
	}
}
