//go:build amd64 && !purego

package local

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly kernels (kernels_amd64.s); without AVX2 and
// FMA the portable ones run.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useVNNI selects the Q8_0 kernels with AVX-512 VNNI's byte dot products
// (on 256-bit registers) over packed matrices.
var useVNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

// packQ8OK reports whether the kernels take Q8_0 matrices of group size
// gs packed (packQ8): the VNNI ones, for whole 32-byte vectors.
func packQ8OK(gs int) bool { return useVNNI && gs%32 == 0 && gs <= maxQ8Group }

// quantizeGroup quantizes one group as quantizeQ8 does, into q, returning
// its scale and the sum of its values.
func quantizeGroup(x []float32, q []int8) (float32, int32) {
	n := len(x)
	if !useAVX2 || n == 0 || n%32 != 0 {
		return quantizeGroupGeneric(x, q)
	}
	_ = q[n-1]
	return quantQ8GroupAVX2(&x[0], n, &q[0])
}

//go:noescape
func quantQ8GroupAVX2(x *float32, n int, q *int8) (scale float32, sum int32)

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

// The packed Q8_0 kernels compute rows [0, rows) of a packed matrix
// (u, with scales ws) against one kernel group of 1 or 4 packed inputs
// (x, corr, xs), row r of member j landing at outs[j][r]. nblk and tail
// are the row's blocks of eight groups and the groups after them.

//go:noescape
func q8PackedVNNI1(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32)

//go:noescape
func q8PackedVNNI4(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32)

//go:noescape
func q8PackedVNNI4R2(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32, cols, wsStride int)

// A packed product runs every kernel group of inputs over q8PackedRowBlock
// bytes of rows before moving on, so groups after the first read them from
// L2; with q8TouchMinB inputs or more it first pulls the block into the
// cache, as matvecF32 does (110M Q8_0 batched 8: no pull 480 tok/s, 16 KB
// 560-630, 32 KB 545, 64 KB 570-720).
const (
	q8PackedRowBlock = 64 << 10
	q8TouchMinB      = 4
)

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

// matvecQ8 is matvecF32 for a group-quantized matrix and quantized inputs.
// Packed (VNNI): per 32 bytes one byte dot product per input into exact
// int32 group sums, eight groups at a time (see packQ8). Otherwise per 16
// values the weights are sign-extended to int16 once and multiplied
// pairwise into exact int32 lanes for every input. Per group (per block of
// eight, packed) the sums are converted and scaled into a float
// accumulator; every input gets the same sequence of operations alone or
// batched.
func matvecQ8(m *matrix, a, z int, x *q8Acts, nb int, out *[maxBatchLimit][]float32) {
	cols, gs := m.cols, m.gs
	ng := cols / gs
	if x.packed {
		matvecQ8Packed(m, a, z, x, nb, out)
		return
	}
	if !useAVX2 || gs%32 != 0 {
		for r := a; r < z; r++ {
			q := m.q[r*cols : (r+1)*cols]
			s := m.s[r*ng : (r+1)*ng]
			for b := 0; b < nb; b++ {
				out[b][r] = dotQ8Generic(q, s, x.q[b*cols:(b+1)*cols], x.s[b*ng:(b+1)*ng], gs)
			}
		}
		return
	}
	if a >= z || nb == 0 || cols == 0 {
		return
	}
	xq, xs := x.q, x.s
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

// matvecQ8Packed is matvecQ8 over m.u and packed inputs: rows in blocks of
// q8PackedRowBlock bytes, each computed for every kernel group in turn.
func matvecQ8Packed(m *matrix, a, z int, x *q8Acts, nb int, out *[maxBatchLimit][]float32) {
	cols, gs := m.cols, m.gs
	ng := cols / gs
	nm := packedMetaLen(ng)
	if a >= z || nb == 0 || cols == 0 {
		return
	}
	if len(m.u) != len(m.q) {
		panic("local: Q8_0 matrix used with packed inputs was not packed")
	}
	_, _ = m.u[z*cols-1], m.s[z*ng-1]
	_, _, _ = x.x8[nb*cols-1], x.corr[nb*nm-1], x.s[nb*nm-1]
	for b := 0; b < nb; b++ {
		_ = out[b][z-1] // the kernels write out[b][a:z]
	}
	step := max(2, (q8PackedRowBlock/cols)&^1) // even: rows go in pairs
	var op [8]*float32
	for lo := a; lo < z; lo += step {
		hi := min(lo+step, z)
		u, ws := &m.u[lo*cols], &m.s[lo*ng]
		if nb >= q8TouchMinB {
			if n := ((hi - lo) * cols) &^ 255; n > 0 {
				touchAVX2(unsafe.Pointer(u), n)
			}
		}
		for b := 0; b < nb; {
			b0, w := packedGroup(b, nb)
			for j := 0; j < w; j++ {
				op[j] = &out[b0+j][lo]
			}
			xp, cp, sp := &x.x8[b0*cols], &x.corr[b0*nm], &x.s[b0*nm]
			if w == 1 {
				q8PackedVNNI1(u, ws, hi-lo, ng/8, ng%8, gs, xp, cp, sp, &op)
			} else {
				pairs := (hi - lo) &^ 1
				if pairs > 0 {
					q8PackedVNNI4R2(u, ws, pairs, ng/8, ng%8, gs, xp, cp, sp, &op, cols, 4*ng)
				}
				if pairs < hi-lo {
					r := hi - 1
					for j := 0; j < w; j++ {
						op[j] = &out[b0+j][r]
					}
					q8PackedVNNI4(&m.u[r*cols], &m.s[r*ng], 1, ng/8, ng%8, gs, xp, cp, sp, &op)
				}
			}
			b = b0 + w
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

//go:noescape
func expShiftAVX2(x *float32, n int, m float32) float32

//go:noescape
func siluGateAVX2(h, gate *float32, n int)

// expShift sets x[i] = e^(x[i]-m) and returns their sum: eight lanes at a
// time (the assembly exponential), the last partial eight through a padded
// buffer so every value takes the same path whatever its position.
func expShift(x []float32, m float32) float32 {
	n := len(x)
	if !useAVX2 || n == 0 {
		return expShiftGeneric(x, m)
	}
	k := n &^ 7
	var sum float32
	if k > 0 {
		sum = expShiftAVX2(&x[0], k, m)
	}
	if k < n {
		var buf [8]float32
		for i := range buf {
			buf[i] = float32(math.Inf(-1)) // e^-Inf: 0, adds nothing
		}
		copy(buf[:], x[k:])
		sum += expShiftAVX2(&buf[0], 8, m)
		copy(x[k:], buf[:n-k])
	}
	return sum
}

// siluGate sets h[i] = silu(h[i])·g[i] (the SwiGLU gate).
func siluGate(h, g []float32) {
	n := len(h)
	g = g[:n]
	if !useAVX2 || n == 0 {
		siluGateGeneric(h, g)
		return
	}
	k := n &^ 7
	if k > 0 {
		siluGateAVX2(&h[0], &g[0], k)
	}
	if k < n {
		var hb, gb [8]float32
		copy(hb[:], h[k:])
		copy(gb[:], g[k:])
		siluGateAVX2(&hb[0], &gb[0], 8)
		copy(h[k:], hb[:n-k])
	}
}

//go:noescape
func argmaxAVX2(x *float32, n int, vals *[8]float32, idx *[8]int32)

// argmax returns the index of the first largest value of x (0 when x is
// empty or x[0] is NaN: a NaN never compares greater).
func argmax(x []float32) int {
	n := len(x)
	if !useAVX2 || n < 64 || x[0] != x[0] {
		return argmaxGeneric(x)
	}
	k := n &^ 7
	var vals [8]float32
	var idx [8]int32
	argmaxAVX2(&x[0], k, &vals, &idx)
	best, bv := int(idx[0]), vals[0]
	for l := 1; l < 8; l++ {
		if v, i := vals[l], int(idx[l]); v > bv || (v == bv && i < best) {
			best, bv = i, v
		}
	}
	for i := k; i < n; i++ {
		if x[i] > bv {
			best, bv = i, x[i]
		}
	}
	return best
}
