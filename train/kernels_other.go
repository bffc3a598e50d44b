//go:build !amd64

package train

const useSIMD = false

func dotSIMD(a, b []float32) float32     { return dotGo(a, b) }
func axpySIMD(a float32, x, y []float32) { axpyGo(a, x, y) }

func axpy4SIMD(a *[4]float32, x []float32, stride int, y []float32) { axpy4Go(a, x, stride, y) }
func dot4SIMD(x, w []float32, stride int, out *[4]float32)          { dot4Go(x, w, stride, out) }
