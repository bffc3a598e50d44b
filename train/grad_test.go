package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tinyConfig is a model small enough for float64 finite differences, with
// grouped KV heads so the head sharing is exercised.
var tinyConfig = Config{Dim: 8, HiddenDim: 12, Layers: 2, Heads: 2, KVHeads: 1, VocabSize: numBase + 3, SeqLen: 7}

func randParams64(c Config, r *rand.Rand) []float64 {
	l := c.layout()
	p := make([]float64, l.total)
	for i := range p {
		p[i] = r.NormFloat64() * 0.5
		switch {
		case i >= l.rmsAtt && i < l.wq, i >= l.rmsFFN && i < l.w1, i >= l.rmsFinal:
			p[i] = 1 + r.NormFloat64()*0.3
		}
	}
	return p
}

// TestGradientMatchesFiniteDifferences compares the analytic gradient of
// the mean cross-entropy with float64 central differences (h = 1e-5) for
// every parameter of a tiny model. The bound: for every parameter,
// |analytic - numeric| <= 1e-6 · max(1, |analytic|), and the normwise
// relative error ‖a-n‖/‖a‖ below 1e-7.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	c := tinyConfig
	r := rand.New(rand.NewPCG(7, 7))
	p := randParams64(c, r)
	inputs := make([]int, c.SeqLen)
	targets := make([]int, c.SeqLen)
	for i := range inputs {
		inputs[i] = r.IntN(c.VocabSize)
		targets[i] = r.IntN(c.VocabSize)
	}
	targets[2] = -1 // an ignored position
	s := newSeqState[float64](c)
	lossFn := func() float64 {
		l, n := s.forward(p, inputs, targets)
		return l / float64(n)
	}
	_, n := s.forward(p, inputs, targets)
	grad := make([]float64, len(p))
	s.backward(p, grad, targets, 1/float64(n))

	const h = 1e-5
	var diff2, norm2, worst float64
	for i := range p {
		orig := p[i]
		p[i] = orig + h
		up := lossFn()
		p[i] = orig - h
		down := lossFn()
		p[i] = orig
		num := (up - down) / (2 * h)
		d := math.Abs(grad[i] - num)
		diff2 += d * d
		norm2 += grad[i] * grad[i]
		worst = max(worst, d/max(1, math.Abs(grad[i])))
		if d > 1e-6*max(1, math.Abs(grad[i])) {
			t.Errorf("param %d: analytic %.10g, numeric %.10g", i, grad[i], num)
		}
	}
	rel := math.Sqrt(diff2 / norm2)
	t.Logf("%d parameters: normwise relative error %.3g, worst elementwise %.3g", len(p), rel, worst)
	if rel > 1e-7 {
		t.Errorf("normwise relative error %.3g > 1e-7", rel)
	}
}
