package local

import "math"

// kvCache holds one sequence's keys and values for every layer and position
// up to the engine's context length.
type kvCache struct {
	k, v []float32 // [layer][pos][kvDim]
}

// mmTask is one matrix of a (possibly fused) matrix × batch product.
type mmTask struct {
	w   *matrix
	out [maxBatchLimit][]float32
}

// maxBatchLimit bounds Config.MaxBatch.
const maxBatchLimit = 64

// engine runs the transformer forward pass for a batch of sequences, each
// at its own position with its own KV cache, sharing one pass over the
// weights. It owns preallocated activations and a worker pool; a step
// allocates nothing. An engine is used by one goroutine at a time.
type engine struct {
	m    *Model
	p    Params
	ctx  int // positions per KV cache
	maxB int
	pool *pool

	x, xb, xb2, q []float32 // [b][dim]
	hb, hb2       []float32 // [b][hidden]
	att           []float32 // [b][head][ctx]
	logits        []float32 // [b][vocab]
	acts          *q8Acts   // quantized inputs of the Q8_0 matrices
	cos, sin      []float32 // [pos][headSize/2]

	// The current step.
	nb     int
	pos    [maxBatchLimit]int
	caches [maxBatchLimit]*kvCache
	layer  int

	// The current matrix product.
	mm     [3]mmTask
	nmm    int
	gated  bool // tasks 0 and 1 are w1 and w3: out0 = silu(out0) * out1, per row range
	mmIn   []float32
	mmCols int
	mmNB   int

	mmFn, attnFn func(lo, hi int)
}

func newEngine(m *Model, ctx, maxB, threads int) *engine {
	p := m.Params
	e := &engine{m: m, p: p, ctx: ctx, maxB: maxB, pool: newPool(threads)}
	D, H := p.Dim, p.HiddenDim
	e.x = make([]float32, maxB*D)
	e.xb = make([]float32, maxB*D)
	e.xb2 = make([]float32, maxB*D)
	e.q = make([]float32, maxB*D)
	e.hb = make([]float32, maxB*H)
	e.hb2 = make([]float32, maxB*H)
	e.att = make([]float32, maxB*p.Heads*ctx)
	e.logits = make([]float32, maxB*p.VocabSize)
	// Quantized inputs for whichever matrices are Q8_0 (the layers, the
	// classifier, or both); the smallest group size sizes the scales.
	gs := 0
	for _, w := range []*matrix{&m.layers[0].wq, &m.cls} {
		if w.quantized() && (gs == 0 || w.gs < gs) {
			gs = w.gs
		}
	}
	if gs > 0 {
		m.pack()
		e.acts = newQ8Acts(maxB, max(D, H), gs)
	}
	hs := p.HeadSize()
	e.cos = make([]float32, ctx*hs/2)
	e.sin = make([]float32, ctx*hs/2)
	for pos := 0; pos < ctx; pos++ {
		for i := 0; i < hs/2; i++ {
			freq := 1 / math.Pow(float64(p.RopeTheta), float64(2*i)/float64(hs))
			v := float64(pos) * freq
			e.cos[pos*hs/2+i] = float32(math.Cos(v))
			e.sin[pos*hs/2+i] = float32(math.Sin(v))
		}
	}
	e.mmFn = e.mmRange
	e.attnFn = e.attnRange
	return e
}

func (e *engine) close() { e.pool.close() }

// newCache allocates a KV cache for one sequence.
func (e *engine) newCache() *kvCache {
	n := e.p.Layers * e.ctx * e.p.KVDim()
	return &kvCache{k: make([]float32, n), v: make([]float32, n)}
}

// step runs one forward pass for nb sequences: sequence b feeds token
// toks[b] at position pos[b] with cache caches[b]. For the sequences with
// want[b] set it leaves the next-token logits in e.logits[b*vocab:].
func (e *engine) step(nb int, toks, pos []int, caches []*kvCache, want []bool) {
	p := e.p
	D, KV, H, hs := p.Dim, p.KVDim(), p.HiddenDim, p.HeadSize()
	e.nb = nb
	copy(e.pos[:], pos[:nb])
	copy(e.caches[:], caches[:nb])
	for b := 0; b < nb; b++ {
		e.m.tokEmb.row(toks[b], e.x[b*D:(b+1)*D])
	}
	for l := range e.m.layers {
		lw := &e.m.layers[l]
		e.layer = l
		loff := l * e.ctx * KV
		for b := 0; b < nb; b++ {
			rmsnorm(e.xb[b*D:(b+1)*D], e.x[b*D:(b+1)*D], lw.attNorm, p.NormEps)
		}
		// q, k, v in one pass; k and v land in the caches.
		e.mm[0].w, e.mm[1].w, e.mm[2].w = &lw.wq, &lw.wk, &lw.wv
		for b := 0; b < nb; b++ {
			c := e.caches[b]
			at := loff + e.pos[b]*KV
			e.mm[0].out[b] = e.q[b*D : (b+1)*D]
			e.mm[1].out[b] = c.k[at : at+KV]
			e.mm[2].out[b] = c.v[at : at+KV]
		}
		e.matmul(3, e.xb, D)
		// RoPE on q and the new k.
		for b := 0; b < nb; b++ {
			at := loff + e.pos[b]*KV
			e.rope(e.q[b*D:(b+1)*D], e.pos[b], hs)
			e.rope(e.caches[b].k[at:at+KV], e.pos[b], hs)
		}
		e.pool.run(nb*p.Heads, 1, e.attnFn)
		e.mm[0].w = &lw.wo
		for b := 0; b < nb; b++ {
			e.mm[0].out[b] = e.xb2[b*D : (b+1)*D]
		}
		e.matmul(1, e.xb, D)
		for i := range e.x[:nb*D] {
			e.x[i] += e.xb2[i]
		}
		for b := 0; b < nb; b++ {
			rmsnorm(e.xb[b*D:(b+1)*D], e.x[b*D:(b+1)*D], lw.ffnNorm, p.NormEps)
		}
		e.mm[0].w, e.mm[1].w = &lw.w1, &lw.w3
		for b := 0; b < nb; b++ {
			e.mm[0].out[b] = e.hb[b*H : (b+1)*H]
			e.mm[1].out[b] = e.hb2[b*H : (b+1)*H]
		}
		// w1 and w3 row by row, with the SwiGLU gate applied by the
		// worker that computed the rows.
		e.gated = true
		e.matmul(2, e.xb, D)
		e.gated = false
		e.mm[0].w = &lw.w2
		for b := 0; b < nb; b++ {
			e.mm[0].out[b] = e.xb[b*D : (b+1)*D]
		}
		e.matmul(1, e.hb, H)
		for i := range e.x[:nb*D] {
			e.x[i] += e.xb[i]
		}
	}
	// Final norm and classifier, only for the sequences that need logits:
	// gather their normalised states to the front of xb.
	n := 0
	e.mm[0].w = &e.m.cls
	for b := 0; b < nb; b++ {
		if !want[b] {
			continue
		}
		rmsnorm(e.xb[n*D:(n+1)*D], e.x[b*D:(b+1)*D], e.m.finalNorm, p.NormEps)
		e.mm[0].out[n] = e.logits[b*p.VocabSize : (b+1)*p.VocabSize]
		n++
	}
	if n > 0 {
		e.nb = n
		e.matmul(1, e.xb, D)
		e.nb = nb
	}
}

// rope rotates each head's pairs (x[2i], x[2i+1]) by pos·θ_i (llama2.c).
func (e *engine) rope(x []float32, pos, hs int) {
	half := hs / 2
	cs := e.cos[pos*half : (pos+1)*half]
	sn := e.sin[pos*half : (pos+1)*half]
	for h := 0; h+hs <= len(x); h += hs {
		v := x[h : h+hs : h+hs]
		for i := 0; i < half; i++ {
			c, s := cs[i], sn[i]
			a, b := v[2*i], v[2*i+1]
			v[2*i] = a*c - b*s
			v[2*i+1] = a*s + b*c
		}
	}
}

// matmul computes out = W·in[b] for the first k tasks and e.nb inputs of
// cols values each, parallel over the concatenated rows of the tasks.
func (e *engine) matmul(k int, in []float32, cols int) {
	e.nmm, e.mmIn, e.mmCols, e.mmNB = k, in, cols, e.nb
	if e.mm[0].w.quantized() {
		// Small (nb × cols values): done here, not worth a dispatch.
		gs := e.mm[0].w.gs
		e.acts.quantize(in, e.nb, cols, gs)
	}
	rows := 0
	for t := 0; t < k; t++ {
		rows += e.mm[t].w.rows
	}
	if e.gated {
		rows = e.mm[0].w.rows
	}
	e.pool.run(rows, 16, e.mmFn)
}

// mmRange computes rows [lo, hi) of the concatenated tasks; when gated,
// rows [lo, hi) of tasks 0 and 1 and then the gate over them.
func (e *engine) mmRange(lo, hi int) {
	if e.gated {
		for t := 0; t < 2; t++ {
			if tk := &e.mm[t]; tk.w.quantized() {
				e.rowsQ8(tk, lo, hi)
			} else {
				e.rowsF32(tk, lo, hi)
			}
		}
		for b := 0; b < e.mmNB; b++ {
			siluGate(e.mm[0].out[b][lo:hi], e.mm[1].out[b][lo:hi])
		}
		return
	}
	base := 0
	for t := 0; t < e.nmm; t++ {
		tk := &e.mm[t]
		rows := tk.w.rows
		a, z := max(lo, base), min(hi, base+rows)
		if a < z {
			if tk.w.quantized() {
				e.rowsQ8(tk, a-base, z-base)
			} else {
				e.rowsF32(tk, a-base, z-base)
			}
		}
		base += rows
	}
}

func (e *engine) rowsF32(tk *mmTask, a, z int) {
	matvecF32(tk.w.f, a, z, e.mmCols, e.mmIn, e.mmNB, &tk.out)
}

func (e *engine) rowsQ8(tk *mmTask, a, z int) {
	matvecQ8(tk.w, a, z, e.acts, e.mmNB, &tk.out)
}

// attnRange runs attention for items [lo, hi) of (sequence, head) pairs.
// The heads of one sequence in the range go through the cache positions
// together, attnBlock positions at a time, so each block of cache rows is
// read while it is in the cache rather than once per head (every head's
// sums keep their order).
func (e *engine) attnRange(lo, hi int) {
	p := e.p
	D, KV, hs, heads := p.Dim, p.KVDim(), p.HeadSize(), p.Heads
	group := heads / p.KVHeads
	scale := float32(math.Sqrt(float64(hs)))
	loff := e.layer * e.ctx * KV
	for lo < hi {
		b := lo / heads
		end := min(hi, (b+1)*heads)
		pos, c := e.pos[b], e.caches[b]
		n := pos + 1
		for t0 := 0; t0 < n; t0 += attnBlock {
			m := min(attnBlock, n-t0)
			for it := lo; it < end; it++ {
				h := it % heads
				q := e.q[b*D+h*hs : b*D+(h+1)*hs]
				kvo := loff + t0*KV + (h/group)*hs
				attnScores(q, c.k[kvo:], KV, m, hs, scale, e.att[it*e.ctx+t0:])
			}
		}
		for it := lo; it < end; it++ {
			softmax(e.att[it*e.ctx : it*e.ctx+n])
			h := it % heads
			clear(e.xb[b*D+h*hs : b*D+(h+1)*hs])
		}
		for t0 := 0; t0 < n; t0 += attnBlock {
			m := min(attnBlock, n-t0)
			for it := lo; it < end; it++ {
				h := it % heads
				kvo := loff + t0*KV + (h/group)*hs
				attnValues(e.att[it*e.ctx+t0:it*e.ctx+t0+m], c.v[kvo:], KV, m, hs, e.xb[b*D+h*hs:b*D+(h+1)*hs])
			}
		}
		lo = end
	}
}

// attnBlock is the cache positions attention takes through all heads at a
// time (110M Q8_0 batched 8, attention CPU time: one head at a time 1.9-2.6
// s, blocks of 8 1.5 s, 16 1.3-1.6 s, 24-64 1.75-2.2 s).
const attnBlock = 16
