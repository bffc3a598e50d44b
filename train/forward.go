package train

import "math"

// seqState holds one sequence's activations between the forward and the
// backward pass, plus the backward pass's scratch, sized for c.SeqLen
// positions. It is owned by one goroutine at a time.
type seqState[T Float] struct {
	c  Config
	l  layout
	kn kernels[T]
	n  int // positions in the current sequence

	inputs []int
	// Per layer: the residual stream entering the layer, the attention
	// RMSNorm's inverse RMS and output, q and k after RoPE, v, attention
	// probabilities (heads×n×n), the attention output before wo, the
	// residual after attention, the FFN RMSNorm, w1·x, w3·x and
	// silu(w1·x)·w3·x.
	xres, inv1, xn1, q, k, v, att, ao, xmid, inv2, xn2, h1, h3, g [][]T
	xfin, invF, xnF, probs                                        []T

	cos, sin []T // RoPE tables, SeqLen × HeadSize/2

	// Backward scratch.
	dx, dxn, dq, dk, dv, dao, dh1, dh3, dp, tmp []T
}

func newSeqState[T Float](c Config) *seqState[T] {
	s := &seqState[T]{c: c, l: c.layout(), kn: kernelsFor[T]()}
	n, d, kv, h, L := c.SeqLen, c.Dim, c.KVDim(), c.HiddenDim, c.Layers
	per := func(size int) [][]T {
		out := make([][]T, L)
		for i := range out {
			out[i] = make([]T, size)
		}
		return out
	}
	s.xres, s.inv1, s.xn1 = per(n*d), per(n), per(n*d)
	s.q, s.k, s.v = per(n*d), per(n*kv), per(n*kv)
	s.att, s.ao, s.xmid = per(c.Heads*n*n), per(n*d), per(n*d)
	s.inv2, s.xn2 = per(n), per(n*d)
	s.h1, s.h3, s.g = per(n*h), per(n*h), per(n*h)
	s.xfin, s.invF, s.xnF = make([]T, n*d), make([]T, n), make([]T, n*d)
	s.probs = make([]T, n*c.VocabSize)
	s.dx, s.dxn, s.dq, s.dao, s.tmp = make([]T, n*d), make([]T, n*d), make([]T, n*d), make([]T, n*d), make([]T, n*d)
	s.dk, s.dv = make([]T, n*kv), make([]T, n*kv)
	s.dh1, s.dh3 = make([]T, n*h), make([]T, n*h)
	s.dp = make([]T, n)
	s.cos, s.sin = ropeTables[T](c)
	return s
}

// ropeTables returns cos and sin of pos·freq_i with freq_i =
// 1/10000^(2i/head_size), computed in float32 as llama2.c's run.c does.
func ropeTables[T Float](c Config) (cos, sin []T) {
	hs := c.HeadSize()
	cos = make([]T, c.SeqLen*hs/2)
	sin = make([]T, c.SeqLen*hs/2)
	for pos := 0; pos < c.SeqLen; pos++ {
		for i := 0; i < hs/2; i++ {
			freq := float32(1 / math.Pow(10000, float64(float32(2*i)/float32(hs))))
			val := float32(pos) * freq
			cos[pos*hs/2+i] = T(math.Cos(float64(val)))
			sin[pos*hs/2+i] = T(math.Sin(float64(val)))
		}
	}
	return cos, sin
}

// rmsNorm writes out[t] = w ⊙ x[t] / rms(x[t]) and inv[t] = 1/rms(x[t]).
func rmsNorm[T Float](out, inv, x, w []T, n, d int) {
	for t := 0; t < n; t++ {
		xs := x[t*d : t*d+d]
		var ss T
		for _, v := range xs {
			ss += v * v
		}
		ss = ss/T(d) + normEps
		r := T(1 / math.Sqrt(float64(ss)))
		inv[t] = r
		o := out[t*d : t*d+d]
		for j, v := range xs {
			o[j] = w[j] * (r * v)
		}
	}
}

// rmsNormBack accumulates into dx and dw the gradients of rmsNorm given
// dOut.
func rmsNormBack[T Float](dx, dw, dOut, x, inv, w []T, n, d int) {
	for t := 0; t < n; t++ {
		xs, g, dxs := x[t*d:t*d+d], dOut[t*d:t*d+d], dx[t*d:t*d+d]
		r := inv[t]
		var dot T
		for j, v := range xs {
			dot += w[j] * g[j] * v
			dw[j] += g[j] * v * r
		}
		c := r * r * r * dot / T(d)
		for j, v := range xs {
			dxs[j] += r*w[j]*g[j] - c*v
		}
	}
}

// rope rotates each (2i, 2i+1) pair of every head of x (n rows of width
// w) by position; sign -1 applies the inverse rotation (the backward
// pass).
func (s *seqState[T]) rope(x []T, n, w int, sign T) {
	hs := s.c.HeadSize()
	for t := 0; t < n; t++ {
		cs, sn := s.cos[t*hs/2:], s.sin[t*hs/2:]
		row := x[t*w : t*w+w]
		for h := 0; h < w; h += hs {
			for i := 0; i < hs/2; i++ {
				c, si := cs[i], sign*sn[i]
				a, b := row[h+2*i], row[h+2*i+1]
				row[h+2*i] = a*c - b*si
				row[h+2*i+1] = a*si + b*c
			}
		}
	}
}

func silu[T Float](z T) (T, T) {
	sg := T(1 / (1 + math.Exp(-float64(z))))
	return z * sg, sg
}

// forward runs the model over inputs (at most SeqLen tokens) and, for
// each position with targets[t] >= 0, adds -log p(targets[t]) to the
// returned loss. It keeps what backward needs.
func (s *seqState[T]) forward(p []T, inputs, targets []int) (loss float64, count int) {
	c, l, kn := s.c, s.l, s.kn
	n, d, kv, hd, hs := len(inputs), c.Dim, c.KVDim(), c.HiddenDim, c.HeadSize()
	s.n, s.inputs = n, inputs
	x := s.xfin[:n*d]
	for t, tok := range inputs {
		copy(x[t*d:t*d+d], p[l.emb+tok*d:l.emb+tok*d+d])
	}
	scale := T(1 / math.Sqrt(float64(hs)))
	kvMul := c.Heads / c.KVHeads
	for li := 0; li < c.Layers; li++ {
		copy(s.xres[li], x)
		xn1 := s.xn1[li][:n*d]
		rmsNorm(xn1, s.inv1[li], x, p[l.rmsAtt+li*d:], n, d)
		q, k, v := s.q[li][:n*d], s.k[li][:n*kv], s.v[li][:n*kv]
		kn.linear(q, xn1, p[l.wq+li*d*d:], n, d, d)
		kn.linear(k, xn1, p[l.wk+li*kv*d:], n, kv, d)
		kn.linear(v, xn1, p[l.wv+li*kv*d:], n, kv, d)
		s.rope(q, n, d, 1)
		s.rope(k, n, kv, 1)
		ao := s.ao[li][:n*d]
		clear(ao)
		att := s.att[li]
		for h := 0; h < c.Heads; h++ {
			kh := h / kvMul
			for t := 0; t < n; t++ {
				qt := q[t*d+h*hs : t*d+h*hs+hs]
				pr := att[(h*n+t)*n : (h*n+t)*n+t+1]
				mx := T(math.Inf(-1))
				for u := range pr {
					pr[u] = kn.dot(qt, k[u*kv+kh*hs:u*kv+kh*hs+hs]) * scale
					mx = max(mx, pr[u])
				}
				var sum T
				for u, a := range pr {
					e := T(math.Exp(float64(a - mx)))
					pr[u] = e
					sum += e
				}
				out := ao[t*d+h*hs : t*d+h*hs+hs]
				for u := range pr {
					pr[u] /= sum
					kn.axpy(pr[u], v[u*kv+kh*hs:u*kv+kh*hs+hs], out)
				}
			}
		}
		tmp := s.tmp[:n*d]
		kn.linear(tmp, ao, p[l.wo+li*d*d:], n, d, d)
		for i, a := range tmp {
			x[i] += a
		}
		copy(s.xmid[li], x)
		xn2 := s.xn2[li][:n*d]
		rmsNorm(xn2, s.inv2[li], x, p[l.rmsFFN+li*d:], n, d)
		h1, h3, g := s.h1[li][:n*hd], s.h3[li][:n*hd], s.g[li][:n*hd]
		kn.linear(h1, xn2, p[l.w1+li*hd*d:], n, hd, d)
		kn.linear(h3, xn2, p[l.w3+li*hd*d:], n, hd, d)
		for i, z := range h1 {
			sz, _ := silu(z)
			g[i] = sz * h3[i]
		}
		kn.linear(tmp, g, p[l.w2+li*d*hd:], n, d, hd)
		for i, a := range tmp {
			x[i] += a
		}
	}
	xnF := s.xnF[:n*d]
	rmsNorm(xnF, s.invF, x, p[l.rmsFinal:], n, d)
	V := c.VocabSize
	probs := s.probs[:n*V]
	kn.linear(probs, xnF, p[l.emb:], n, V, d)
	for t := 0; t < n; t++ {
		row := probs[t*V : t*V+V]
		mx := row[0]
		for _, a := range row {
			mx = max(mx, a)
		}
		tl := 0.0
		if targets != nil && targets[t] >= 0 {
			tl = float64(row[targets[t]] - mx)
		}
		var sum float64
		for i, a := range row {
			e := math.Exp(float64(a - mx))
			row[i] = T(e)
			sum += e
		}
		if targets != nil && targets[t] >= 0 {
			loss += math.Log(sum) - tl
			count++
		}
		inv := T(1 / sum)
		for i := range row {
			row[i] *= inv
		}
	}
	return loss, count
}

// backward accumulates into grad the gradient of scale·Σ_t -log
// p(targets[t]) for the sequence forward last ran.
func (s *seqState[T]) backward(p, grad []T, targets []int, scale T) {
	c, l, kn := s.c, s.l, s.kn
	n, d, kv, hd, hs := s.n, c.Dim, c.KVDim(), c.HiddenDim, c.HeadSize()
	V := c.VocabSize
	// Classifier: dlogits = scale·(p - onehot), in place over probs.
	dlog := s.probs[:n*V]
	for t := 0; t < n; t++ {
		row := dlog[t*V : t*V+V]
		if targets[t] < 0 {
			clear(row)
			continue
		}
		row[targets[t]] -= 1
		for i := range row {
			row[i] *= scale
		}
	}
	dxn := s.dxn[:n*d]
	clear(dxn)
	kn.linearBackIn(dxn, dlog, p[l.emb:], n, V, d)
	kn.linearBackW(grad[l.emb:], dlog, s.xnF, n, V, d)
	dx := s.dx[:n*d]
	clear(dx)
	rmsNormBack(dx, grad[l.rmsFinal:], dxn, s.xfin, s.invF, p[l.rmsFinal:], n, d)

	iscale := T(1 / math.Sqrt(float64(hs)))
	kvMul := c.Heads / c.KVHeads
	for li := c.Layers - 1; li >= 0; li-- {
		// FFN: x += w2·(silu(w1·xn2) ⊙ w3·xn2).
		dg := s.dh1[:n*hd] // dg, then dh1 in place
		dh3 := s.dh3[:n*hd]
		clear(dg)
		kn.linearBackIn(dg, dx, p[l.w2+li*d*hd:], n, d, hd)
		kn.linearBackW(grad[l.w2+li*d*hd:], dx, s.g[li], n, d, hd)
		h1, h3 := s.h1[li], s.h3[li]
		for i := range dg {
			sz, sg := silu(h1[i])
			dh3[i] = dg[i] * sz
			dg[i] = dg[i] * h3[i] * sg * (1 + h1[i]*(1-sg))
		}
		clear(dxn)
		kn.linearBackIn(dxn, dg, p[l.w1+li*hd*d:], n, hd, d)
		kn.linearBackIn(dxn, dh3, p[l.w3+li*hd*d:], n, hd, d)
		kn.linearBackW(grad[l.w1+li*hd*d:], dg, s.xn2[li], n, hd, d)
		kn.linearBackW(grad[l.w3+li*hd*d:], dh3, s.xn2[li], n, hd, d)
		rmsNormBack(dx, grad[l.rmsFFN+li*d:], dxn, s.xmid[li], s.inv2[li], p[l.rmsFFN+li*d:], n, d)

		// Attention: x += wo·attn(rope(wq·xn1), rope(wk·xn1), wv·xn1).
		dao := s.dao[:n*d]
		clear(dao)
		kn.linearBackIn(dao, dx, p[l.wo+li*d*d:], n, d, d)
		kn.linearBackW(grad[l.wo+li*d*d:], dx, s.ao[li], n, d, d)
		q, k, v, att := s.q[li], s.k[li], s.v[li], s.att[li]
		dq, dk, dv := s.dq[:n*d], s.dk[:n*kv], s.dv[:n*kv]
		clear(dq)
		clear(dk)
		clear(dv)
		for h := 0; h < c.Heads; h++ {
			kh := h / kvMul
			for t := 0; t < n; t++ {
				g := dao[t*d+h*hs : t*d+h*hs+hs]
				pr := att[(h*n+t)*n : (h*n+t)*n+t+1]
				dp := s.dp[:t+1]
				var sum T
				for u, pu := range pr {
					dp[u] = kn.dot(g, v[u*kv+kh*hs:u*kv+kh*hs+hs])
					kn.axpy(pu, g, dv[u*kv+kh*hs:u*kv+kh*hs+hs])
					sum += pu * dp[u]
				}
				qt := q[t*d+h*hs : t*d+h*hs+hs]
				dqt := dq[t*d+h*hs : t*d+h*hs+hs]
				for u, pu := range pr {
					ds := pu * (dp[u] - sum) * iscale
					if ds == 0 {
						continue
					}
					kn.axpy(ds, k[u*kv+kh*hs:u*kv+kh*hs+hs], dqt)
					kn.axpy(ds, qt, dk[u*kv+kh*hs:u*kv+kh*hs+hs])
				}
			}
		}
		s.rope(dq, n, d, -1)
		s.rope(dk, n, kv, -1)
		clear(dxn)
		kn.linearBackIn(dxn, dq, p[l.wq+li*d*d:], n, d, d)
		kn.linearBackIn(dxn, dk, p[l.wk+li*kv*d:], n, kv, d)
		kn.linearBackIn(dxn, dv, p[l.wv+li*kv*d:], n, kv, d)
		kn.linearBackW(grad[l.wq+li*d*d:], dq, s.xn1[li], n, d, d)
		kn.linearBackW(grad[l.wk+li*kv*d:], dk, s.xn1[li], n, kv, d)
		kn.linearBackW(grad[l.wv+li*kv*d:], dv, s.xn1[li], n, kv, d)
		rmsNormBack(dx, grad[l.rmsAtt+li*d:], dxn, s.xres[li], s.inv1[li], p[l.rmsAtt+li*d:], n, d)
	}
	for t, tok := range s.inputs {
		ge := grad[l.emb+tok*d : l.emb+tok*d+d]
		for j, a := range dx[t*d : t*d+d] {
			ge[j] += a
		}
	}
}
