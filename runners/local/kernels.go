package local

import "math"

// dotGeneric is the portable fp32 dot product: 8 independent accumulators
// (unrolled) so the adds pipeline, summed pairwise at the end.
func dotGeneric(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotQ8Generic is the int8 group dot product of a row (values q, one
// scale per gs values in ws) with a quantized vector (xq, int8 range held
// in int16, scales xs): per group an exact int32 sum, scaled by both group
// scales and accumulated in group order.
func dotQ8Generic(q []int8, ws []float32, xq []int16, xs []float32, gs int) float32 {
	n := len(q)
	xq = xq[:n]
	var sum float32
	for g, j := 0, 0; j < n; g, j = g+1, j+gs {
		qq := q[j : j+gs : j+gs]
		xx := xq[j : j+gs : j+gs]
		var a0, a1, a2, a3 int32
		k := 0
		for ; k+4 <= gs; k += 4 {
			a0 += int32(qq[k]) * int32(xx[k])
			a1 += int32(qq[k+1]) * int32(xx[k+1])
			a2 += int32(qq[k+2]) * int32(xx[k+2])
			a3 += int32(qq[k+3]) * int32(xx[k+3])
		}
		for ; k < gs; k++ {
			a0 += int32(qq[k]) * int32(xx[k])
		}
		sum += float32(a0+a1+a2+a3) * (ws[g] * xs[g])
	}
	return sum
}

// rmsnorm writes weight * x / rms(x) to o, as llama2.c computes it.
func rmsnorm(o, x, weight []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	ss /= float32(len(x))
	ss += eps
	ss = 1 / float32(math.Sqrt(float64(ss)))
	for j := range o[:len(x)] {
		o[j] = weight[j] * (ss * x[j])
	}
}

// softmax normalises x in place.
func softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	sum := expShift(x, m)
	for i := range x {
		x[i] /= sum
	}
}

// expShiftGeneric sets x[i] = e^(x[i]-m) and returns their sum.
func expShiftGeneric(x []float32, m float32) float32 {
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += e
	}
	return sum
}

// siluGateGeneric sets h[i] = silu(h[i])·g[i] (the SwiGLU gate).
func siluGateGeneric(h, g []float32) {
	g = g[:len(h)]
	for i, v := range h {
		v *= 1 / (1 + float32(math.Exp(float64(-v))))
		h[i] = v * g[i]
	}
}

// axpyGeneric adds a*x to y.
func axpyGeneric(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// attnScoresGeneric is attnScores with the build's dot product.
func attnScoresGeneric(q, k []float32, stride, n, hs int, scale float32, out []float32) {
	for t := 0; t < n; t++ {
		out[t] = dot(q, k[t*stride:t*stride+hs]) / scale
	}
}

// attnValuesGeneric is attnValues with the build's axpy.
func attnValuesGeneric(a, v []float32, stride, n, hs int, out []float32) {
	for t := 0; t < n; t++ {
		axpy(a[t], v[t*stride:t*stride+hs], out)
	}
}
