//go:build !amd64 || purego

package local

// kernelName names the kernels this build uses.
const kernelName = "generic"

func dot(a, b []float32) float32 { return dotGeneric(a, b) }

func axpy(a float32, x, y []float32) { axpyGeneric(a, x, y) }

// matvecF32 computes out[b][r] = w[r]·in[b] for rows [a, z) and nb inputs.
func matvecF32(w []float32, a, z, cols int, in []float32, nb int, out *[maxBatchLimit][]float32) {
	for r := a; r < z; r++ {
		row := w[r*cols : (r+1)*cols]
		for b := 0; b < nb; b++ {
			out[b][r] = dotGeneric(row, in[b*cols:(b+1)*cols])
		}
	}
}

// int8Activations reports whether matvecQ8 wants its inputs as int8 too.
func int8Activations() bool { return false }

// matvecQ8 is matvecF32 for a group-quantized matrix and quantized inputs
// (the int8 copy is unused).
func matvecQ8(m *matrix, a, z int, xq []int16, _ []int8, xs []float32, nb int, out *[maxBatchLimit][]float32) {
	cols, gs := m.cols, m.gs
	ng := cols / gs
	for r := a; r < z; r++ {
		q := m.q[r*cols : (r+1)*cols]
		s := m.s[r*ng : (r+1)*ng]
		for b := 0; b < nb; b++ {
			out[b][r] = dotQ8Generic(q, s, xq[b*cols:(b+1)*cols], xs[b*ng:(b+1)*ng], gs)
		}
	}
}

func attnScores(q, k []float32, stride, n, hs int, scale float32, out []float32) {
	attnScoresGeneric(q, k, stride, n, hs, scale, out)
}

func attnValues(a, v []float32, stride, n, hs int, out []float32) {
	attnValuesGeneric(a, v, stride, n, hs, out)
}
