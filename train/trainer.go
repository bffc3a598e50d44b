package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
)

// Options configure a training run. Zero fields take the documented
// defaults (see withDefaults); Model has no defaults.
type Options struct {
	Model       Config
	Steps       int     // optimizer steps; default 1000
	Batch       int     // sequences per step; default 8
	LR          float64 // peak learning rate; default 1e-3
	MinLR       float64 // final learning rate; default LR/10
	Warmup      int     // warmup steps; default Steps/20
	WeightDecay float64 // AdamW decay on matrices; default 0.1
	Clip        float64 // global gradient-norm clip; default 1
	Seed        uint64  // initialisation and batch sampling
	Workers     int     // goroutines; default runtime.NumCPU()
}

func (o Options) withDefaults() Options {
	if o.Steps == 0 {
		o.Steps = 1000
	}
	if o.Batch == 0 {
		o.Batch = 8
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.MinLR == 0 {
		o.MinLR = o.LR / 10
	}
	if o.Warmup == 0 {
		o.Warmup = max(1, o.Steps/20)
	}
	if o.WeightDecay == 0 {
		o.WeightDecay = 0.1
	}
	if o.Clip == 0 {
		o.Clip = 1
	}
	if o.Workers == 0 {
		o.Workers = runtime.NumCPU()
	}
	return o
}

// Validate refuses impossible options.
func (o Options) Validate() error {
	if err := o.Model.Validate(); err != nil {
		return err
	}
	switch {
	case o.Steps < 0 || o.Batch < 0 || o.Warmup < 0 || o.Workers < 0:
		return errors.New("train: steps, batch, warmup and workers must not be negative")
	case o.LR < 0 || o.MinLR < 0 || o.WeightDecay < 0 || o.Clip < 0:
		return errors.New("train: learning rates, weight decay and clip must not be negative")
	}
	return nil
}

// Trainer trains a model on a token stream. Methods must not be called
// concurrently; Close releases its worker goroutines.
type Trainer struct {
	opt    Options
	Params []float32
	adam   *AdamW
	step   int // completed steps
	pcg    *rand.PCG
	rng    *rand.Rand
	data   []uint16

	pool   *pool
	states []*seqState[float32]
	grads  [][]float32
	norm2  []float64
}

// NewTrainer returns a Trainer at step 0 over the training tokens data
// (stories each starting with BOS, concatenated).
func NewTrainer(opt Options, data []uint16) (*Trainer, error) {
	opt = opt.withDefaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if len(data) < opt.Model.SeqLen+1 {
		return nil, fmt.Errorf("train: %d training tokens, need more than seq_len %d", len(data), opt.Model.SeqLen)
	}
	for _, t := range data {
		if int(t) >= opt.Model.VocabSize {
			return nil, fmt.Errorf("train: token %d outside the vocabulary of %d", t, opt.Model.VocabSize)
		}
	}
	pcg := rand.NewPCG(opt.Seed, 0x7a1)
	t := &Trainer{opt: opt, pcg: pcg, rng: rand.New(pcg), data: data}
	t.Params = opt.Model.initParams(t.rng)
	t.adam = newAdamW(opt.Model, opt.WeightDecay)
	t.pool = newPool(opt.Workers)
	for w := 0; w < opt.Workers; w++ {
		t.states = append(t.states, newSeqState[float32](opt.Model))
	}
	for b := 0; b < opt.Batch; b++ {
		t.grads = append(t.grads, make([]float32, len(t.Params)))
	}
	return t, nil
}

// Close stops the worker goroutines.
func (t *Trainer) Close() { t.pool.close() }

// StepsDone is the number of completed optimizer steps.
func (t *Trainer) StepsDone() int { return t.step }

// Options returns the options in effect, defaults filled in.
func (t *Trainer) Options() Options { return t.opt }

// StepResult describes one optimizer step.
type StepResult struct {
	Step     int     // 1-based step just completed
	Loss     float64 // mean cross-entropy over the batch, nats/token
	LR       float64
	GradNorm float64 // before clipping
	Tokens   int     // tokens processed
}

// Step samples a batch of windows, computes the mean loss and its
// gradient across the worker pool, clips, and applies AdamW. The result
// depends only on the trainer's state, not on the number of workers.
func (t *Trainer) Step() StepResult {
	c := t.opt.Model
	L, B := c.SeqLen, t.opt.Batch
	starts := make([]int, B)
	for i := range starts {
		starts[i] = t.rng.IntN(len(t.data) - L)
	}
	losses := make([]float64, B)
	scale := float32(1 / float64(B*L))
	t.pool.run(B, func(w, i int) {
		win := t.data[starts[i] : starts[i]+L+1]
		inputs := make([]int, L)
		targets := make([]int, L)
		for j := 0; j < L; j++ {
			inputs[j], targets[j] = int(win[j]), int(win[j+1])
		}
		g := t.grads[i]
		clear(g)
		s := t.states[w]
		losses[i], _ = s.forward(t.Params, inputs, targets)
		s.backward(t.Params, g, targets, scale)
	})
	// Sum the per-sequence gradients in a fixed order, and the squared
	// norm per range.
	parts := min(len(t.Params), t.pool.n*4)
	if len(t.norm2) != parts {
		t.norm2 = make([]float64, parts)
	}
	total := len(t.Params)
	t.pool.run(parts, func(_, pi int) {
		lo, hi := total*pi/parts, total*(pi+1)/parts
		g0 := t.grads[0]
		for b := 1; b < B; b++ {
			gb := t.grads[b]
			for i := lo; i < hi; i++ {
				g0[i] += gb[i]
			}
		}
		var s float64
		for _, v := range g0[lo:hi] {
			s += float64(v) * float64(v)
		}
		t.norm2[pi] = s
	})
	var n2 float64
	for _, s := range t.norm2 {
		n2 += s
	}
	norm := math.Sqrt(n2)
	gscale := float32(1)
	if t.opt.Clip > 0 && norm > t.opt.Clip {
		gscale = float32(t.opt.Clip / norm)
	}
	t.step++
	lr := t.schedule().LR(t.step)
	g0 := t.grads[0]
	t.pool.run(parts, func(_, pi int) {
		lo, hi := total*pi/parts, total*(pi+1)/parts
		if gscale != 1 {
			for i := lo; i < hi; i++ {
				g0[i] *= gscale
			}
		}
		t.adam.update(t.Params, g0, lr, t.step, lo, hi)
	})
	var loss float64
	for _, l := range losses {
		loss += l
	}
	return StepResult{Step: t.step, Loss: loss / float64(B*L), LR: lr, GradNorm: norm, Tokens: B * L}
}

func (t *Trainer) schedule() Schedule {
	return Schedule{Peak: t.opt.LR, Min: t.opt.MinLR, Warmup: t.opt.Warmup, Total: t.opt.Steps}
}

// Eval returns the mean cross-entropy (nats/token) of the model over
// tokens, cut into consecutive windows of SeqLen+1 tokens overlapping by
// one (every token after the first is a target once); maxWindows > 0
// limits the windows used.
func (t *Trainer) Eval(tokens []uint16, maxWindows int) float64 {
	return evalLoss(t.pool, t.states, t.opt.Model, t.Params, tokens, maxWindows)
}

func evalLoss(p *pool, states []*seqState[float32], c Config, params []float32, tokens []uint16, maxWindows int) float64 {
	L := c.SeqLen
	var wins [][]uint16
	for s := 0; s+1 < len(tokens); s += L {
		wins = append(wins, tokens[s:min(len(tokens), s+L+1)])
		if maxWindows > 0 && len(wins) == maxWindows {
			break
		}
	}
	losses := make([]float64, len(wins))
	counts := make([]int, len(wins))
	p.run(len(wins), func(w, i int) {
		win := wins[i]
		inputs := make([]int, len(win)-1)
		targets := make([]int, len(win)-1)
		for j := range inputs {
			inputs[j], targets[j] = int(win[j]), int(win[j+1])
		}
		losses[i], counts[i] = states[w].forward(params, inputs, targets)
	})
	var sum float64
	var n int
	for i := range losses {
		sum += losses[i]
		n += counts[i]
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// UnigramEntropy is the entropy in nats of the unigram distribution of
// the target tokens (all but the first) of tokens: the loss of the best
// model that ignores context.
func UnigramEntropy(tokens []uint16) float64 {
	if len(tokens) < 2 {
		return math.NaN()
	}
	counts := make([]int, 1<<16)
	for _, t := range tokens[1:] {
		counts[t]++
	}
	n := float64(len(tokens) - 1)
	var h float64
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log(p)
	}
	return h
}
