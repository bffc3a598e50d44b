//go:build amd64 && !purego

package local

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly kernels (kernels_amd64.s); without AVX2 and
// FMA the portable ones run.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernelName names the kernels this build uses.
var kernelName = func() string {
	if useAVX2 {
		return "avx2-fma (amd64 assembly)"
	}
	return "generic (no AVX2/FMA)"
}()

// Assembly kernels. The fp32 ones take n a positive multiple of 8; the
// Q8_0 ones n a positive multiple of gs and gs of 32.

//go:noescape
func dotF32AVX2(w, x *float32, n int) float32

//go:noescape
func dot4F32AVX2(w, x0, x1, x2, x3 *float32, n int, out *[4]float32)

//go:noescape
func dot24F32AVX2(w0, w1, x0, x1, x2, x3 *float32, n int, out *[8]float32)

//go:noescape
func axpyF32AVX2(a float32, x, y *float32, n int)

//go:noescape
func mv1F32AVX2(w *float32, rows, cols int, x, o *float32)

//go:noescape
func mv24F32AVX2(w *float32, rows, cols int, xs, outs *[maxBatchLimit]*float32, groups int)

//go:noescape
func touchAVX2(p unsafe.Pointer, n int)

// touchMinCols is the narrowest matrix whose rows a batched product pulls
// into the cache before computing.
const touchMinCols = 512

//go:noescape
func attnScoresAVX2(q, k *float32, stride, n, hs int, scale float32, out *float32)

//go:noescape
func attnValuesAVX2(a, v *float32, stride, n, hs int, out *float32)

//go:noescape
func dotQ8AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs int) float32

//go:noescape
func dotQ8x4AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs, ng int, out *[4]float32)

// The fp32 kernels give every input vector the same accumulation order
// (one 8-wide accumulator over 8-value steps, then the scalar tail)
// whether it is computed alone or with up to three others, so a
// sequence's logits do not depend on what it is batched with.

func dot(a, b []float32) float32 {
	if !useAVX2 {
		return dotGeneric(a, b)
	}
	return dot1AVX2(a, b)
}

func dot1AVX2(w, x []float32) float32 {
	n := len(w)
	x = x[:n]
	m := n &^ 7
	if m == 0 {
		return dotTail(w, x, 0, 0)
	}
	return dotTail(w, x, m, dotF32AVX2(&w[0], &x[0], m))
}

func dotTail(w, x []float32, i int, s float32) float32 {
	for ; i < len(w); i++ {
		s += w[i] * x[i]
	}
	return s
}

// axpy adds a*x to y.
func axpy(a float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	m := n &^ 7
	if !useAVX2 || m == 0 {
		axpyGeneric(a, x, y)
		return
	}
	axpyF32AVX2(a, &x[0], &y[0], m)
	for i := m; i < n; i++ {
		y[i] += a * x[i]
	}
}

// dot4AVX2 is dot1AVX2 of one row with four vectors, loading the row once.
func dot4AVX2(w, x0, x1, x2, x3 []float32) (float32, float32, float32, float32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	m := n &^ 7
	var o [4]float32
	if m > 0 {
		dot4F32AVX2(&w[0], &x0[0], &x1[0], &x2[0], &x3[0], m, &o)
	}
	return dotTail(w, x0, m, o[0]), dotTail(w, x1, m, o[1]), dotTail(w, x2, m, o[2]), dotTail(w, x3, m, o[3])
}

// dot24AVX2 is dot4AVX2 for two rows at once: each input load serves two
// rows, halving the input traffic (the inputs of a batch outgrow L1).
func dot24AVX2(w0, w1, x0, x1, x2, x3 []float32) (r0, r1 [4]float32) {
	n := len(w0)
	w1, x0, x1, x2, x3 = w1[:n], x0[:n], x1[:n], x2[:n], x3[:n]
	m := n &^ 7
	var o [8]float32
	if m > 0 {
		dot24F32AVX2(&w0[0], &w1[0], &x0[0], &x1[0], &x2[0], &x3[0], m, &o)
	}
	r0 = [4]float32{dotTail(w0, x0, m, o[0]), dotTail(w0, x1, m, o[1]), dotTail(w0, x2, m, o[2]), dotTail(w0, x3, m, o[3])}
	r1 = [4]float32{dotTail(w1, x0, m, o[4]), dotTail(w1, x1, m, o[5]), dotTail(w1, x2, m, o[6]), dotTail(w1, x3, m, o[7])}
	return
}

// matvecF32 computes out[b][r] = w[r]·in[b] for rows [a, z) and nb inputs,
// four inputs (and two rows) per pass over cache-resident data.
func matvecF32(w []float32, a, z, cols int, in []float32, nb int, out *[maxBatchLimit][]float32) {
	if !useAVX2 {
		for r := a; r < z; r++ {
			row := w[r*cols : (r+1)*cols]
			for b := 0; b < nb; b++ {
				out[b][r] = dotGeneric(row, in[b*cols:(b+1)*cols])
			}
		}
		return
	}
	if a >= z || nb == 0 {
		return
	}
	if cols > 0 && cols%8 == 0 {
		// Whole row ranges in one call: pairs of rows with each group of
		// four inputs, then the inputs left over row by row.
		_ = w[z*cols-1]
		_ = in[nb*cols-1]
		for b := 0; b < nb; b++ {
			_ = out[b][z-1] // the kernels write out[b][a:z]
		}
		pairs := (z - a) &^ 1
		// A batched product computes more per weight byte than a core can
		// overlap with streaming the bytes from memory: first pull the
		// rows into the cache at full streaming speed, then compute from
		// there. (Measured: +20–25% for the 110M shape's 3–8 KB rows; a
		// loss for the 15M shape's 1 KB rows, where it is skipped.)
		if nb >= 4 && cols >= touchMinCols {
			if n := ((z - a) * cols * 4) &^ 255; n > 0 {
				touchAVX2(unsafe.Pointer(&w[a*cols]), n)
			}
		}
		g := nb / 4
		if g > 0 && pairs > 0 {
			var xp, op [maxBatchLimit]*float32
			for k := 0; k < 4*g; k++ {
				xp[k], op[k] = &in[k*cols], &out[k][a]
			}
			mv24F32AVX2(&w[a*cols], pairs, cols, &xp, &op, g)
			if r := z - 1; pairs < z-a {
				for b := 0; b < 4*g; b++ {
					mv1F32AVX2(&w[r*cols], 1, cols, &in[b*cols], &out[b][r])
				}
			}
		} else {
			g = 0
		}
		for b := 4 * g; b < nb; b++ {
			mv1F32AVX2(&w[a*cols], z-a, cols, &in[b*cols], &out[b][a])
		}
		return
	}
	r := a
	if nb >= 4 {
		for ; r+2 <= z; r += 2 {
			row0, row1 := w[r*cols:(r+1)*cols], w[(r+1)*cols:(r+2)*cols]
			b := 0
			for ; b+4 <= nb; b += 4 {
				o0, o1 := dot24AVX2(row0, row1,
					in[b*cols:(b+1)*cols], in[(b+1)*cols:(b+2)*cols], in[(b+2)*cols:(b+3)*cols], in[(b+3)*cols:(b+4)*cols])
				out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = o0[0], o0[1], o0[2], o0[3]
				out[b][r+1], out[b+1][r+1], out[b+2][r+1], out[b+3][r+1] = o1[0], o1[1], o1[2], o1[3]
			}
			for ; b < nb; b++ {
				out[b][r] = dot1AVX2(row0, in[b*cols:(b+1)*cols])
				out[b][r+1] = dot1AVX2(row1, in[b*cols:(b+1)*cols])
			}
		}
	}
	for ; r < z; r++ {
		row := w[r*cols : (r+1)*cols]
		b := 0
		for ; b+4 <= nb; b += 4 {
			out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = dot4AVX2(row,
				in[b*cols:(b+1)*cols], in[(b+1)*cols:(b+2)*cols], in[(b+2)*cols:(b+3)*cols], in[(b+3)*cols:(b+4)*cols])
		}
		for ; b < nb; b++ {
			out[b][r] = dot1AVX2(row, in[b*cols:(b+1)*cols])
		}
	}
}

// matvecQ8 is matvecF32 for a group-quantized matrix and quantized inputs:
// per 16 values the weights are sign-extended to int16 once and multiplied
// pairwise into exact int32 lanes for every input; per group the lanes are
// converted and scaled into a float accumulator (group order, as the
// generic kernel).
func matvecQ8(m *matrix, a, z int, xq []int16, xs []float32, nb int, out *[maxBatchLimit][]float32) {
	cols, gs := m.cols, m.gs
	ng := cols / gs
	if !useAVX2 || gs%32 != 0 {
		for r := a; r < z; r++ {
			q := m.q[r*cols : (r+1)*cols]
			s := m.s[r*ng : (r+1)*ng]
			for b := 0; b < nb; b++ {
				out[b][r] = dotQ8Generic(q, s, xq[b*cols:(b+1)*cols], xs[b*ng:(b+1)*ng], gs)
			}
		}
		return
	}
	if a >= z || nb == 0 || cols == 0 {
		return
	}
	// One bounds check each for everything the kernels read.
	_, _ = m.q[z*cols-1], m.s[z*ng-1]
	_, _ = xq[nb*cols-1], xs[nb*ng-1]
	var o [4]float32
	for r := a; r < z; r++ {
		q, s := &m.q[r*cols], &m.s[r*ng]
		b := 0
		for ; b+4 <= nb; b += 4 {
			dotQ8x4AVX2(q, s, &xq[b*cols], &xs[b*ng], cols, gs, ng, &o)
			out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = o[0], o[1], o[2], o[3]
		}
		for ; b < nb; b++ {
			out[b][r] = dotQ8AVX2(q, s, &xq[b*cols], &xs[b*ng], cols, gs)
		}
	}
}

// attnScores sets out[t] = q·k[t*stride:][:hs] / scale for t < n.
func attnScores(q, k []float32, stride, n, hs int, scale float32, out []float32) {
	if !useAVX2 || hs%8 != 0 || n == 0 {
		attnScoresGeneric(q, k, stride, n, hs, scale, out)
		return
	}
	_, _, _ = q[hs-1], k[(n-1)*stride+hs-1], out[n-1]
	attnScoresAVX2(&q[0], &k[0], stride, n, hs, scale, &out[0])
}

// attnValues adds a[t]·v[t*stride:][:hs] to out for t < n, in order.
func attnValues(a, v []float32, stride, n, hs int, out []float32) {
	if !useAVX2 || hs%8 != 0 || n == 0 {
		attnValuesGeneric(a, v, stride, n, hs, out)
		return
	}
	_, _, _ = a[n-1], v[(n-1)*stride+hs-1], out[hs-1]
	attnValuesAVX2(&a[0], &v[0], stride, n, hs, &out[0])
}
