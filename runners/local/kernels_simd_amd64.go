//go:build goexperiment.simd && amd64

package local

import (
	"simd/archsimd"
	"unsafe"
)

// kernelName names the kernels this build uses.
var kernelName = func() string {
	if useAVX512 {
		return "avx2-fma, avx512 q8_0 (simd/archsimd)"
	}
	if useAVX2 {
		return "avx2-fma (simd/archsimd)"
	}
	return "generic (no AVX2/FMA)"
}()

// useAVX2 selects the archsimd kernels; without AVX2 and FMA the portable
// ones run.
var useAVX2 = archsimd.X86.AVX2() && archsimd.X86.FMA()

// The fp32 kernels give every input vector the same accumulation order
// (one 8-wide accumulator over 8-value steps, then scalars) whether it is
// computed alone or with up to three others, so a sequence's logits do not
// depend on what it is batched with. One accumulator chain per vector is
// latency-bound at 8 values per FMA latency, still well above what memory
// delivers to a single decode.

func dot(a, b []float32) float32 {
	switch {
	case useAVX512:
		return dot1AVX512(a, b)
	case useAVX2:
		return dot1AVX2(a, b)
	}
	return dotGeneric(a, b)
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
	var a0 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		a0 = ld8(px, i).MulAdd(ld8(pw, i), a0)
	}
	return dotTail(w, x, i, hsum(a0))
}

// axpy adds a*x to y.
func axpy(a float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	if !useAVX2 || n < 8 {
		axpyGeneric(a, x, y)
		return
	}
	px, py := unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0])
	av := archsimd.BroadcastFloat32x8(a)
	i := 0
	for ; i+8 <= n; i += 8 {
		ld8(px, i).MulAdd(av, ld8(py, i)).Store((*[8]float32)(unsafe.Add(py, 4*i)))
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}

func dotTail(w, x []float32, i int, s float32) float32 {
	for ; i < len(w); i++ {
		s += w[i] * x[i]
	}
	return s
}

// dot4AVX2 is dot1AVX2 of one row with four vectors, loading the row once.
// (The FMA overwrites its receiver: the receiver is the freshly loaded
// input, so the row register survives without a copy.)
func dot4AVX2(w, x0, x1, x2, x3 []float32) (float32, float32, float32, float32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	if n < 8 {
		return dotTail(w, x0, 0, 0), dotTail(w, x1, 0, 0), dotTail(w, x2, 0, 0), dotTail(w, x3, 0, 0)
	}
	pw := unsafe.Pointer(&w[0])
	p0, p1, p2, p3 := unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0]), unsafe.Pointer(&x2[0]), unsafe.Pointer(&x3[0])
	var a0, a1, a2, a3 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		wa := ld8(pw, i)
		a0 = ld8(p0, i).MulAdd(wa, a0)
		a1 = ld8(p1, i).MulAdd(wa, a1)
		a2 = ld8(p2, i).MulAdd(wa, a2)
		a3 = ld8(p3, i).MulAdd(wa, a3)
	}
	return dotTail(w, x0, i, hsum(a0)), dotTail(w, x1, i, hsum(a1)),
		dotTail(w, x2, i, hsum(a2)), dotTail(w, x3, i, hsum(a3))
}

// dot24AVX2 is dot4AVX2 for two rows at once: each input load serves two
// rows, halving the input traffic (the inputs of a batch outgrow L1).
func dot24AVX2(w0, w1, x0, x1, x2, x3 []float32) (r0, r1 [4]float32) {
	n := len(w0)
	w1, x0, x1, x2, x3 = w1[:n], x0[:n], x1[:n], x2[:n], x3[:n]
	if n < 8 {
		r0[0], r0[1], r0[2], r0[3] = dot4AVX2(w0, x0, x1, x2, x3)
		r1[0], r1[1], r1[2], r1[3] = dot4AVX2(w1, x0, x1, x2, x3)
		return
	}
	pw0, pw1 := unsafe.Pointer(&w0[0]), unsafe.Pointer(&w1[0])
	p0, p1, p2, p3 := unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0]), unsafe.Pointer(&x2[0]), unsafe.Pointer(&x3[0])
	var a0, a1, a2, a3, c0, c1, c2, c3 archsimd.Float32x8
	i := 0
	for ; i+8 <= n; i += 8 {
		wa, wc := ld8(pw0, i), ld8(pw1, i)
		v := ld8(p0, i)
		a0 = v.MulAdd(wa, a0)
		c0 = v.MulAdd(wc, c0)
		v = ld8(p1, i)
		a1 = v.MulAdd(wa, a1)
		c1 = v.MulAdd(wc, c1)
		v = ld8(p2, i)
		a2 = v.MulAdd(wa, a2)
		c2 = v.MulAdd(wc, c2)
		v = ld8(p3, i)
		a3 = v.MulAdd(wa, a3)
		c3 = v.MulAdd(wc, c3)
	}
	r0 = [4]float32{dotTail(w0, x0, i, hsum(a0)), dotTail(w0, x1, i, hsum(a1)), dotTail(w0, x2, i, hsum(a2)), dotTail(w0, x3, i, hsum(a3))}
	r1 = [4]float32{dotTail(w1, x0, i, hsum(c0)), dotTail(w1, x1, i, hsum(c1)), dotTail(w1, x2, i, hsum(c2)), dotTail(w1, x3, i, hsum(c3))}
	return
}

func hsum(v archsimd.Float32x8) float32 {
	var t [4]float32
	v.GetLo().Add(v.GetHi()).Store(&t)
	return (t[0] + t[1]) + (t[2] + t[3])
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
	if useAVX512 {
		matvecRows(w, a, z, cols, in, nb, out, 0, dot1AVX512, dot4AVX512, dot24AVX512)
		return
	}
	matvecRows(w, a, z, cols, in, nb, out, 0, dot1AVX2, dot4AVX2, dot24AVX2)
}

// matvecRows computes rows [a, z) of w into out (at rows off+a...) with
// the given one-, four- and two-row-by-four kernels.
func matvecRows(w []float32, a, z, cols int, in []float32, nb int, out *[maxBatchLimit][]float32, off int,
	d1 func(w, x []float32) float32,
	d4 func(w, x0, x1, x2, x3 []float32) (float32, float32, float32, float32),
	d24 func(w0, w1, x0, x1, x2, x3 []float32) ([4]float32, [4]float32)) {
	r := a
	if nb >= 4 {
		for ; r+2 <= z; r += 2 {
			row0, row1 := w[r*cols:(r+1)*cols], w[(r+1)*cols:(r+2)*cols]
			o := off + r
			b := 0
			for ; b+4 <= nb; b += 4 {
				o0, o1 := d24(row0, row1,
					in[b*cols:(b+1)*cols], in[(b+1)*cols:(b+2)*cols], in[(b+2)*cols:(b+3)*cols], in[(b+3)*cols:(b+4)*cols])
				out[b][o], out[b+1][o], out[b+2][o], out[b+3][o] = o0[0], o0[1], o0[2], o0[3]
				out[b][o+1], out[b+1][o+1], out[b+2][o+1], out[b+3][o+1] = o1[0], o1[1], o1[2], o1[3]
			}
			for ; b < nb; b++ {
				out[b][o] = d1(row0, in[b*cols:(b+1)*cols])
				out[b][o+1] = d1(row1, in[b*cols:(b+1)*cols])
			}
		}
	}
	for ; r < z; r++ {
		row := w[r*cols : (r+1)*cols]
		o := off + r
		b := 0
		for ; b+4 <= nb; b += 4 {
			out[b][o], out[b+1][o], out[b+2][o], out[b+3][o] = d4(row,
				in[b*cols:(b+1)*cols], in[(b+1)*cols:(b+2)*cols], in[(b+2)*cols:(b+3)*cols], in[(b+3)*cols:(b+4)*cols])
		}
		for ; b < nb; b++ {
			out[b][o] = d1(row, in[b*cols:(b+1)*cols])
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
	dot1, dot4 := dotQ8AVX2, dotQ8x4AVX2
	if useAVX512 {
		dot1, dot4 = dotQ8AVX512, dotQ8x4AVX512
	}
	for r := a; r < z; r++ {
		q := m.q[r*cols : (r+1)*cols]
		s := m.s[r*ng : (r+1)*ng]
		b := 0
		for ; b+4 <= nb; b += 4 {
			out[b][r], out[b+1][r], out[b+2][r], out[b+3][r] = dot4(q, s, xq[b*cols:(b+4)*cols], xs[b*ng:(b+4)*ng], gs)
		}
		for ; b < nb; b++ {
			out[b][r] = dot1(q, s, xq[b*cols:(b+1)*cols], xs[b*ng:(b+1)*ng], gs)
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

// useAVX512 selects the 512-bit Q8_0 kernels (twice the values per
// instruction of the AVX2 ones).
var useAVX512 = useAVX2 && archsimd.X86.AVX512()

func ldq32(p unsafe.Pointer, i int) archsimd.Int16x32 {
	return archsimd.LoadInt8x32((*[32]int8)(unsafe.Add(p, i))).ExtendToInt16()
}

func ldx32(p unsafe.Pointer, i int) archsimd.Int16x32 {
	return archsimd.LoadInt16x32((*[32]int16)(unsafe.Add(p, 2*i)))
}

func hsum16(v archsimd.Float32x16) float32 { return hsum(v.GetLo().Add(v.GetHi())) }

// dotQ8AVX512 is dotQ8AVX2 with 512-bit vectors (gs a multiple of 32).
func dotQ8AVX512(q []int8, ws []float32, xq []int16, xs []float32, gs int) float32 {
	n := len(q)
	xq, xs = xq[:n], xs[:n/gs]
	pq, px := unsafe.Pointer(&q[0]), unsafe.Pointer(&xq[0])
	var facc archsimd.Float32x16
	for g, j := 0, 0; j < n; g, j = g+1, j+gs {
		var iacc archsimd.Int32x16
		for k := j; k < j+gs; k += 32 {
			iacc = iacc.Add(ldx32(px, k).DotProductPairs(ldq32(pq, k)))
		}
		facc = iacc.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x16(ws[g]*xs[g]), facc)
	}
	return hsum16(facc)
}

// dotQ8x4AVX512 is dotQ8x4AVX2 with 512-bit vectors.
func dotQ8x4AVX512(q []int8, ws []float32, xq []int16, xs []float32, gs int) (float32, float32, float32, float32) {
	n := len(q)
	ng := n / gs
	xq, xs = xq[:4*n], xs[:4*ng]
	pq := unsafe.Pointer(&q[0])
	p0, p1, p2, p3 := unsafe.Pointer(&xq[0]), unsafe.Pointer(&xq[n]), unsafe.Pointer(&xq[2*n]), unsafe.Pointer(&xq[3*n])
	var f0, f1, f2, f3 archsimd.Float32x16
	for g, j := 0, 0; j < n; g, j = g+1, j+gs {
		var i0, i1, i2, i3 archsimd.Int32x16
		for k := j; k < j+gs; k += 32 {
			w := ldq32(pq, k)
			i0 = i0.Add(ldx32(p0, k).DotProductPairs(w))
			i1 = i1.Add(ldx32(p1, k).DotProductPairs(w))
			i2 = i2.Add(ldx32(p2, k).DotProductPairs(w))
			i3 = i3.Add(ldx32(p3, k).DotProductPairs(w))
		}
		w := ws[g]
		f0 = i0.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x16(w*xs[g]), f0)
		f1 = i1.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x16(w*xs[ng+g]), f1)
		f2 = i2.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x16(w*xs[2*ng+g]), f2)
		f3 = i3.ConvertToFloat32().MulAdd(archsimd.BroadcastFloat32x16(w*xs[3*ng+g]), f3)
	}
	return hsum16(f0), hsum16(f1), hsum16(f2), hsum16(f3)
}

// The AVX-512 fp32 kernels: one 16-wide accumulator chain per vector
// (used for every fp32 product when the CPU has AVX-512, so the batched
// and single orders still agree).

func ld16(p unsafe.Pointer, i int) archsimd.Float32x16 {
	return archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 4*i)))
}

func dot1AVX512(w, x []float32) float32 {
	n := len(w)
	x = x[:n]
	if n < 16 {
		return dotTail(w, x, 0, 0)
	}
	pw, px := unsafe.Pointer(&w[0]), unsafe.Pointer(&x[0])
	var a0 archsimd.Float32x16
	i := 0
	for ; i+16 <= n; i += 16 {
		a0 = ld16(px, i).MulAdd(ld16(pw, i), a0)
	}
	return dotTail(w, x, i, hsum16(a0))
}

func dot4AVX512(w, x0, x1, x2, x3 []float32) (float32, float32, float32, float32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	if n < 16 {
		return dotTail(w, x0, 0, 0), dotTail(w, x1, 0, 0), dotTail(w, x2, 0, 0), dotTail(w, x3, 0, 0)
	}
	pw := unsafe.Pointer(&w[0])
	p0, p1, p2, p3 := unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0]), unsafe.Pointer(&x2[0]), unsafe.Pointer(&x3[0])
	var a0, a1, a2, a3 archsimd.Float32x16
	i := 0
	for ; i+16 <= n; i += 16 {
		wa := ld16(pw, i)
		a0 = ld16(p0, i).MulAdd(wa, a0)
		a1 = ld16(p1, i).MulAdd(wa, a1)
		a2 = ld16(p2, i).MulAdd(wa, a2)
		a3 = ld16(p3, i).MulAdd(wa, a3)
	}
	return dotTail(w, x0, i, hsum16(a0)), dotTail(w, x1, i, hsum16(a1)),
		dotTail(w, x2, i, hsum16(a2)), dotTail(w, x3, i, hsum16(a3))
}

func dot24AVX512(w0, w1, x0, x1, x2, x3 []float32) (r0, r1 [4]float32) {
	n := len(w0)
	w1, x0, x1, x2, x3 = w1[:n], x0[:n], x1[:n], x2[:n], x3[:n]
	if n < 16 {
		r0[0], r0[1], r0[2], r0[3] = dot4AVX512(w0, x0, x1, x2, x3)
		r1[0], r1[1], r1[2], r1[3] = dot4AVX512(w1, x0, x1, x2, x3)
		return
	}
	pw0, pw1 := unsafe.Pointer(&w0[0]), unsafe.Pointer(&w1[0])
	p0, p1, p2, p3 := unsafe.Pointer(&x0[0]), unsafe.Pointer(&x1[0]), unsafe.Pointer(&x2[0]), unsafe.Pointer(&x3[0])
	var a0, a1, a2, a3, c0, c1, c2, c3 archsimd.Float32x16
	i := 0
	for ; i+16 <= n; i += 16 {
		wa, wc := ld16(pw0, i), ld16(pw1, i)
		v := ld16(p0, i)
		a0 = v.MulAdd(wa, a0)
		c0 = v.MulAdd(wc, c0)
		v = ld16(p1, i)
		a1 = v.MulAdd(wa, a1)
		c1 = v.MulAdd(wc, c1)
		v = ld16(p2, i)
		a2 = v.MulAdd(wa, a2)
		c2 = v.MulAdd(wc, c2)
		v = ld16(p3, i)
		a3 = v.MulAdd(wa, a3)
		c3 = v.MulAdd(wc, c3)
	}
	r0 = [4]float32{dotTail(w0, x0, i, hsum16(a0)), dotTail(w0, x1, i, hsum16(a1)), dotTail(w0, x2, i, hsum16(a2)), dotTail(w0, x3, i, hsum16(a3))}
	r1 = [4]float32{dotTail(w1, x0, i, hsum16(c0)), dotTail(w1, x1, i, hsum16(c1)), dotTail(w1, x2, i, hsum16(c2)), dotTail(w1, x3, i, hsum16(c3))}
	return
}
