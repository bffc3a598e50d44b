package train

import "math"

// AdamW is the decoupled-weight-decay Adam optimizer. Decay applies only
// where mask is true (the matrices). Its state is M and V; the zero value
// is not usable (see newAdamW).
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	M, V                           []float32
	mask                           []bool
}

func newAdamW(c Config, weightDecay float64) *AdamW {
	n := c.NumParams()
	return &AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: weightDecay,
		M: make([]float32, n), V: make([]float32, n), mask: c.decayMask()}
}

// update applies one step (1-based, for bias correction) with learning
// rate lr to p[lo:hi] from gradient g.
func (o *AdamW) update(p, g []float32, lr float64, step, lo, hi int) {
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := 1 - math.Pow(o.Beta1, float64(step))
	c2 := 1 - math.Pow(o.Beta2, float64(step))
	stepSize := float32(lr / c1)
	sqrtC2 := float32(math.Sqrt(c2))
	eps := float32(o.Eps)
	decay := float32(1 - lr*o.WeightDecay)
	for i := lo; i < hi; i++ {
		gi := g[i]
		m := b1*o.M[i] + (1-b1)*gi
		v := b2*o.V[i] + (1-b2)*gi*gi
		o.M[i], o.V[i] = m, v
		if o.mask[i] {
			p[i] *= decay
		}
		p[i] -= stepSize * m / (float32(math.Sqrt(float64(v)))/sqrtC2 + eps)
	}
}

// Schedule is linear warmup to Peak over Warmup steps, then cosine decay
// to Min at step Total.
type Schedule struct {
	Peak, Min     float64
	Warmup, Total int
}

// LR returns the learning rate for 1-based step.
func (s Schedule) LR(step int) float64 {
	if step <= s.Warmup {
		return s.Peak * float64(step) / float64(max(1, s.Warmup))
	}
	if step >= s.Total {
		return s.Min
	}
	frac := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + 0.5*(s.Peak-s.Min)*(1+math.Cos(math.Pi*frac))
}
