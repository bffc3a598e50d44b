package train

import "math"

// Decoder runs a trained model one token at a time with a KV cache, the
// way llama2.c's run.c does, for sampling. It is not safe for concurrent
// use.
type Decoder struct {
	c        Config
	l        layout
	p        []float32
	kn       kernels[float32]
	kc, vc   [][]float32 // per layer, SeqLen × KVDim
	x, xb    []float32
	xb2, q   []float32
	att      []float32
	hb, hb2  []float32
	logits   []float32
	cos, sin []float32
}

// NewDecoder returns a Decoder over params (not copied).
func NewDecoder(c Config, params []float32) *Decoder {
	d := &Decoder{c: c, l: c.layout(), p: params, kn: kernelsFor[float32]()}
	kv := c.KVDim()
	for i := 0; i < c.Layers; i++ {
		d.kc = append(d.kc, make([]float32, c.SeqLen*kv))
		d.vc = append(d.vc, make([]float32, c.SeqLen*kv))
	}
	d.x, d.xb, d.xb2, d.q = make([]float32, c.Dim), make([]float32, c.Dim), make([]float32, c.Dim), make([]float32, c.Dim)
	d.att = make([]float32, c.SeqLen)
	d.hb, d.hb2 = make([]float32, c.HiddenDim), make([]float32, c.HiddenDim)
	d.logits = make([]float32, c.VocabSize)
	d.cos, d.sin = ropeTables[float32](c)
	return d
}

// Step feeds token at position pos (0-based, < SeqLen) and returns the
// next-token logits, valid until the next call.
func (d *Decoder) Step(token, pos int) []float32 {
	c, l, kn, p := d.c, d.l, d.kn, d.p
	dim, kv, hd, hs := c.Dim, c.KVDim(), c.HiddenDim, c.HeadSize()
	copy(d.x, p[l.emb+token*dim:l.emb+token*dim+dim])
	var inv [1]float32
	scale := float32(1 / math.Sqrt(float64(hs)))
	kvMul := c.Heads / c.KVHeads
	for li := 0; li < c.Layers; li++ {
		rmsNorm(d.xb, inv[:], d.x, p[l.rmsAtt+li*dim:], 1, dim)
		kr := d.kc[li][pos*kv : pos*kv+kv]
		vr := d.vc[li][pos*kv : pos*kv+kv]
		kn.linear(d.q, d.xb, p[l.wq+li*dim*dim:], 1, dim, dim)
		kn.linear(kr, d.xb, p[l.wk+li*kv*dim:], 1, kv, dim)
		kn.linear(vr, d.xb, p[l.wv+li*kv*dim:], 1, kv, dim)
		d.rotate(d.q, pos)
		d.rotate(kr, pos)
		clear(d.xb)
		for h := 0; h < c.Heads; h++ {
			kh := h / kvMul
			qh := d.q[h*hs : h*hs+hs]
			att := d.att[:pos+1]
			mx := float32(math.Inf(-1))
			for t := range att {
				att[t] = kn.dot(qh, d.kc[li][t*kv+kh*hs:t*kv+kh*hs+hs]) * scale
				mx = max(mx, att[t])
			}
			var sum float32
			for t, a := range att {
				att[t] = float32(math.Exp(float64(a - mx)))
				sum += att[t]
			}
			out := d.xb[h*hs : h*hs+hs]
			for t := range att {
				kn.axpy(att[t]/sum, d.vc[li][t*kv+kh*hs:t*kv+kh*hs+hs], out)
			}
		}
		kn.linear(d.xb2, d.xb, p[l.wo+li*dim*dim:], 1, dim, dim)
		for i, a := range d.xb2 {
			d.x[i] += a
		}
		rmsNorm(d.xb, inv[:], d.x, p[l.rmsFFN+li*dim:], 1, dim)
		kn.linear(d.hb, d.xb, p[l.w1+li*hd*dim:], 1, hd, dim)
		kn.linear(d.hb2, d.xb, p[l.w3+li*hd*dim:], 1, hd, dim)
		for i, z := range d.hb {
			sz, _ := silu(z)
			d.hb[i] = sz * d.hb2[i]
		}
		kn.linear(d.xb2, d.hb, p[l.w2+li*dim*hd:], 1, dim, hd)
		for i, a := range d.xb2 {
			d.x[i] += a
		}
	}
	rmsNorm(d.x, inv[:], d.x, p[l.rmsFinal:], 1, dim)
	kn.linear(d.logits, d.x, p[l.emb:], 1, c.VocabSize, dim)
	return d.logits
}

func (d *Decoder) rotate(x []float32, pos int) {
	hs := d.c.HeadSize()
	cs, sn := d.cos[pos*hs/2:], d.sin[pos*hs/2:]
	for h := 0; h < len(x); h += hs {
		for i := 0; i < hs/2; i++ {
			a, b := x[h+2*i], x[h+2*i+1]
			x[h+2*i] = a*cs[i] - b*sn[i]
			x[h+2*i+1] = a*sn[i] + b*cs[i]
		}
	}
}

// argmax returns the index of the first largest value, as run.c's
// sample_argmax does.
func argmax(v []float32) int {
	best := 0
	for i, a := range v {
		if a > v[best] {
			best = i
		}
	}
	return best
}

// Greedy feeds prompt (which should start with BOS) and then appends the
// argmax token until BOS (llama2.c's end of a story) or EOS is generated or
// steps positions are used, at most SeqLen. It returns the generated
// tokens, without the prompt and without the final BOS.
func (d *Decoder) Greedy(prompt []int, steps int) []int {
	steps = min(steps, d.c.SeqLen)
	var out []int
	tok := prompt[0]
	for pos := 0; pos < steps; pos++ {
		logits := d.Step(tok, pos)
		if pos+1 < len(prompt) {
			tok = prompt[pos+1]
			continue
		}
		tok = argmax(logits)
		if tok == BOS || tok == EOS {
			break
		}
		out = append(out, tok)
	}
	return out
}
