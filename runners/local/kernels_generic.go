//go:build !(goexperiment.simd && amd64)

package local

// kernelName names the kernels this build uses.
const kernelName = "generic"

func dot(a, b []float32) float32 { return dotGeneric(a, b) }

func dotQ8(q []int8, ws []float32, xq []int8, xs []float32, gs int) float32 {
	return dotQ8Generic(q, ws, xq, xs, gs)
}
