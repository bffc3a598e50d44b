//go:build amd64 && !purego

package local

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly kernels (kernels_amd64.s); without AVX2 and
// FMA the portable ones run.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useVNNI selects the Q8_0 kernels with AVX-512 VNNI's byte dot products
// (on 256-bit registers).
var useVNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

// int8Activations reports whether matvecQ8 wants its inputs as int8 too.
func int8Activations() bool { return useVNNI }

// kernelName names the kernels this build uses.
var kernelName = func() string {
	if useVNNI {
		return "avx2-fma, avx512-vnni q8_0 (amd64 assembly)"
	}
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
func axpyF32AVX2(a float32, x, y *float32, n int)

//go:noescape
func mv1F32AVX2(w *float32, rows, cols int, x, o *float32)

//go:noescape
func mv24F32AVX2(w *float32, rows, cols int, xs, outs *[maxBatchLimit]*float32, groups int)

//go:noescape
func touchAVX2(p unsafe.Pointer, n int)

// touchMinCols is the narrowest matrix whose rows a batched fp32 product
// pulls into the cache before computing, touchBlock the bytes pulled at a
// time (measured for 110M: 16 KB 300 tok/s, 32 KB 346, 64 KB 357, 128 KB
// 352, 256 KB 349, a whole pool chunk ~300, none 240).
const (
	touchMinCols = 512
	touchBlock   = 64 << 10
)

//go:noescape
func attnScoresAVX2(q, k *float32, stride, n, hs int, scale float32, out *float32)

//go:noescape
func attnValuesAVX2(a, v *float32, stride, n, hs int, out *float32)

//go:noescape
func dotQ8AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs int) float32

//go:noescape
func dotQ8x4AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs, ng int, out *[4]float32)

//go:noescape
func dotQ8VNNI(q *int8, ws *float32, x8 *int8, xs *float32, n, gs int) float32

//go:noescape
func dotQ8x4VNNI(q *int8, ws *float32, x8 *int8, xs *float32, n, gs, ng int, out *[4]float32)

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

// matvecF32 computes out[b][r] = w[r]·in[b] for rows [a, z) and nb inputs,
// four inputs (and two rows) per pass over cache-resident data.
func matvecF32(w []float32, a, z, cols int, in []float32, nb int, out *[maxBatchLimit][]float32) {
	if !useAVX2 || cols == 0 || cols%8 != 0 {
		// Portable kernels, or rows whose length is not a multiple of 8
		// (no stories shape has them): the same sums one product at a time.
		for r := a; r < z; r++ {
			row := w[r*cols : (r+1)*cols]
			for b := 0; b < nb; b++ {
				out[b][r] = dot(row, in[b*cols:(b+1)*cols])
			}
		}
		return
	}
	if a >= z || nb == 0 {
		return
	}
	_ = w[z*cols-1]
	_ = in[nb*cols-1]
	for b := 0; b < nb; b++ {
		_ = out[b][z-1] // the kernels write out[b][a:z]
	}
	// A batched product computes more per weight byte than a core can
	// overlap with streaming the bytes from memory: pull a block of rows
	// into the cache at streaming speed, then compute it from there.
	if nb >= 4 && cols >= touchMinCols {
		block := max(2, (touchBlock/(cols*4))&^1)
		for lo := a; lo < z; lo += block {
			hi := min(lo+block, z)
			if n := ((hi - lo) * cols * 4) &^ 255; n > 0 {
				touchAVX2(unsafe.Pointer(&w[lo*cols]), n)
			}
			matvecRowsAVX2(w, lo, hi, cols, in, nb, out)
		}
		return
	}
	matvecRowsAVX2(w, a, z, cols, in, nb, out)
}

// matvecRowsAVX2 is matvecF32 for cols a positive multiple of 8, z > a
// and the bounds checked: pairs of rows with each group of four inputs,
// then the inputs left over row by row.
func matvecRowsAVX2(w []float32, a, z, cols int, in []float32, nb int, out *[maxBatchLimit][]float32) {
	g, pairs := nb/4, (z-a)&^1
	if pairs == 0 {
		g = 0
	}
	if g > 0 {
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
	}
	for b := 4 * g; b < nb; b++ {
		mv1F32AVX2(&w[a*cols], z-a, cols, &in[b*cols], &out[b][a])
	}
}

// matvecQ8 is matvecF32 for a group-quantized matrix and quantized inputs:
// per 16 values the weights are sign-extended to int16 once and multiplied
// pairwise into exact int32 lanes for every input; per group the lanes are
// converted and scaled into a float accumulator (group order, as the
// generic kernel).
func matvecQ8(m *matrix, a, z int, xq []int16, x8 []int8, xs []float32, nb int, out *[maxBatchLimit][]float32) {
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
	// (Pulling rows into the cache first, as matvecF32 does, measured
	// slower here: the Q8_0 kernels are bound by their arithmetic.)
	var o [4]float32
	if useVNNI && x8 != nil {
		_ = x8[nb*cols-1]
		for r := a; r < z; r++ {
			q, s := &m.q[r*cols], &m.s[r*ng]
			b := 0
			for ; b+4 <= nb; b += 4 {
				dotQ8x4VNNI(q, s, &x8[b*cols], &xs[b*ng], cols, gs, ng, &o)
				out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = o[0], o[1], o[2], o[3]
			}
			for ; b < nb; b++ {
				out[b][r] = dotQ8VNNI(q, s, &x8[b*cols], &xs[b*ng], cols, gs)
			}
		}
		return
	}
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
