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

// packQ8OK reports whether the kernels take Q8_0 matrices of group size
// gs packed (packQ8): not the portable ones.
func packQ8OK(gs int) bool { return false }

func quantizeGroup(x []float32, q []int8) (float32, int32) { return quantizeGroupGeneric(x, q) }

// matvecQ8 is matvecF32 for a group-quantized matrix and quantized inputs.
func matvecQ8(m *matrix, a, z int, x *q8Acts, nb int, out *[maxBatchLimit][]float32) {
	cols, gs := m.cols, m.gs
	ng := cols / gs
	for r := a; r < z; r++ {
		q := m.q[r*cols : (r+1)*cols]
		s := m.s[r*ng : (r+1)*ng]
		for b := 0; b < nb; b++ {
			out[b][r] = dotQ8Generic(q, s, x.q[b*cols:(b+1)*cols], x.s[b*ng:(b+1)*ng], gs)
		}
	}
}

func attnScores(q, k []float32, stride, n, hs int, scale float32, out []float32) {
	attnScoresGeneric(q, k, stride, n, hs, scale, out)
}

func attnValues(a, v []float32, stride, n, hs int, out []float32) {
	attnValuesGeneric(a, v, stride, n, hs, out)
}

func expShift(x []float32, m float32) float32 { return expShiftGeneric(x, m) }

func siluGate(h, g []float32) { siluGateGeneric(h, g) }

func argmax(x []float32) int { return argmaxGeneric(x) }
