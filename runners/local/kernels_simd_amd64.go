//go:build goexperiment.simd && amd64

package local

import (
	"simd/archsimd"
	"unsafe"
)

// kernelName names the kernels this build uses.
var kernelName = func() string {
	if useAVX2 {
		return "avx2-fma (simd/archsimd)"
	}
	return "generic (no AVX2/FMA)"
}()

// useAVX2 selects the archsimd kernels; without AVX2 and FMA the portable
// ones run.
var useAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// The fp32 kernels give every input vector the same accumulation order
// (two 8-wide accumulators over 16-value strides, then an 8-wide step,
// then scalars) whether it is computed alone or with another, so a
// sequence's logits do not depend on what it is batched with.

func dot(a, b []float32) float32 {
	if !useAVX2 {
		return dotGeneric(a, b)
	}
	return dot1AVX2(a, b)
}

// The kernels check lengths once, then load through unsafe pointers: the
// per-load slice arithmetic and bounds checks otherwise cost more than
// the multiply-adds.

func ld8(p unsafe.Pointer, i int) archsimd.Float32x8 {
	return archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 4*i)))
}

func dot1AVX2(w, x []float32) float32 {
	n := len(w)
	x = x[:n]
	if n < 8 {
		return dotTail(w, x, 0, 0)
	}
	pw, px := unsafe.Pointer(&w[0]), unsafe.Pointer(&x[0])
	var a0, b0 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		a0 = ld8(pw, i).MulAdd(ld8(px, i), a0)
		b0 = ld8(pw, i+8).MulAdd(ld8(px, i+8), b0)
	}
	if i+8 <= n {
		a0 = ld8(pw, i).MulAdd(ld8(px, i), a0)
		i += 8
	}
	return dotTail(w, x, i, hsum(a0.Add(b0)))
}

func dotTail(w, x []float32, i int, s float32) float32 {
	for ; i < len(w); i++ {
		s += w[i] * x[i]
	}
	return s
}

// dot2AVX2 is dot1AVX2 of one row with two vectors, loading the row once.
// (The FMA overwrites its receiver: the receiver is the freshly loaded
// input, so the row registers survive without copies. Two vectors keep
// the accumulators in registers; four spill with Go's allocator.)
func dot2AVX2(w, x0, x1 []float32) (float32, float32) {
	n := len(w)
	x0, x1 = x0[:n], x1[:n]
	if n < 8 {
		return dotTail(w, x0, 0, 0), dotTail(w, x1, 0, 0)
	}
	pw, p0, p1 := unsafe.Pointer(&w[0]), unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0])
	var a0, a1, b0, b1 archsimd.Float32x8
	i := 0
	for ; i+16 <= n; i += 16 {
		wa, wb := ld8(pw, i), ld8(pw, i+8)
		a0 = ld8(p0, i).MulAdd(wa, a0)
		a1 = ld8(p1, i).MulAdd(wa, a1)
		b0 = ld8(p0, i+8).MulAdd(wb, b0)
		b1 = ld8(p1, i+8).MulAdd(wb, b1)
	}
	if i+8 <= n {
		wa := ld8(pw, i)
		a0 = ld8(p0, i).MulAdd(wa, a0)
		a1 = ld8(p1, i).MulAdd(wa, a1)
		i += 8
	}
	return dotTail(w, x0, i, hsum(a0.Add(b0))), dotTail(w, x1, i, hsum(a1.Add(b1)))
}

func hsum(v archsimd.Float32x8) float32 {
	var t [4]float32
	v.GetLo().Add(v.GetHi()).Store(&t)
	return (t[0] + t[1]) + (t[2] + t[3])
}

// matvecF32 computes out[b][r] = w[r]·in[b] for rows [a, z) and nb inputs,
// two inputs per pass over a (cache-resident) row.
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
	for r := a; r < z; r++ {
		row := w[r*cols : (r+1)*cols]
		b := 0
		for ; b+2 <= nb; b += 2 {
			out[b][r], out[b+1][r] = dot2AVX2(row, in[b*cols:(b+1)*cols], in[(b+1)*cols:(b+2)*cols])
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
	for r := a; r < z; r++ {
		q := m.q[r*cols : (r+1)*cols]
		s := m.s[r*ng : (r+1)*ng]
		b := 0
		for ; b+4 <= nb; b += 4 {
			out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = dotQ8x4AVX2(q, s, xq[b*cols:(b+4)*cols], xs[b*ng:(b+4)*ng], gs)
		}
		for ; b < nb; b++ {
			out[b][r] = dotQ8AVX2(q, s, xq[b*cols:(b+1)*cols], xs[b*ng:(b+1)*ng], gs)
		}
	}
}

func ldq(p unsafe.Pointer, i int) archsimd.Int16x16 {
	return archsimd.LoadInt8x16((*[16]int8)(unsafe.Add(p, i))).ExtendToInt16()
}

func ldx(p unsafe.Pointer, i int) archsimd.Int16x16 {
	return archsimd.LoadInt16x16((*[16]int16)(unsafe.Add(p, 2*i)))
}

// dotQ8AVX2 needs gs a multiple of 32 (checked by matvecQ8).
func dotQ8AVX2(q []int8, ws []float32, xq []int16, xs []float32, gs int) float32 {
	n := len(q)
	xq, xs = xq[:n], xs[:n/gs]
	pq, px := unsafe.Pointer(&q[0]), unsafe.Pointer(&xq[0])
	var facc archsimd.Float32x8
	for g, j := 0, 0; j < n; g, j = g+1, j+gs {
		var iacc archsimd.Int32x8
		for k := j; k < j+gs; k += 32 {
			iacc = iacc.Add(ldq(pq, k).DotProductPairs(ldx(px, k))).Add(ldq(pq, k+16).DotProductPairs(ldx(px, k+16)))
		}
		facc = iacc.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(ws[g]*xs[g]), facc)
	}
	return hsum(facc)
}

// dotQ8x4AVX2: four inputs laid out back to back in xq (n values each) and
// xs (n/gs scales each).
func dotQ8x4AVX2(q []int8, ws []float32, xq []int16, xs []float32, gs int) (float32, float32, float32, float32) {
	n := len(q)
	ng := n / gs
	xq, xs = xq[:4*n], xs[:4*ng]
	pq := unsafe.Pointer(&q[0])
	p0, p1, p2, p3 := unsafe.Pointer(&xq[0]), unsafe.Pointer(&xq[n]), unsafe.Pointer(&xq[2*n]), unsafe.Pointer(&xq[3*n])
	var f0, f1, f2, f3 archsimd.Float32x8
	for g, j := 0, 0; j < n; g, j = g+1, j+gs {
		var i0, i1, i2, i3 archsimd.Int32x8
		for k := j; k < j+gs; k += 32 {
			w0, w1 := ldq(pq, k), ldq(pq, k+16)
			i0 = i0.Add(ldx(p0, k).DotProductPairs(w0)).Add(ldx(p0, k+16).DotProductPairs(w1))
			i1 = i1.Add(ldx(p1, k).DotProductPairs(w0)).Add(ldx(p1, k+16).DotProductPairs(w1))
			i2 = i2.Add(ldx(p2, k).DotProductPairs(w0)).Add(ldx(p2, k+16).DotProductPairs(w1))
			i3 = i3.Add(ldx(p3, k).DotProductPairs(w0)).Add(ldx(p3, k+16).DotProductPairs(w1))
		}
		w := ws[g]
		f0 = i0.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(w*xs[g]), f0)
		f1 = i1.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(w*xs[ng+g]), f1)
		f2 = i2.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(w*xs[2*ng+g]), f2)
		f3 = i3.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x8(w*xs[3*ng+g]), f3)
	}
	return hsum(f0), hsum(f1), hsum(f2), hsum(f3)
}
