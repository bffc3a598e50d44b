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
