package train

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := tinyConfig
	p := c.initParams(rand.New(rand.NewPCG(1, 1)))
	var buf bytes.Buffer
	if err := WriteCheckpoint(&buf, c, p); err != nil {
		t.Fatal(err)
	}
	hs := c.HeadSize()
	if want := 28 + 4*(c.NumParams()+c.SeqLen*hs); buf.Len() != want {
		t.Fatalf("checkpoint is %d bytes, want %d (header, weights, freq_cis)", buf.Len(), want)
	}
	c2, p2, err := ReadCheckpoint(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c2 != c {
		t.Fatalf("config = %+v, want %+v", c2, c)
	}
	for i := range p {
		if p[i] != p2[i] {
			t.Fatalf("param %d = %v, want %v", i, p2[i], p[i])
		}
	}
}

func TestDecoderMatchesTrainingForward(t *testing.T) {
	c := Config{Dim: 32, HiddenDim: 64, Layers: 2, Heads: 4, KVHeads: 2, VocabSize: numBase + 20, SeqLen: 24}
	r := rand.New(rand.NewPCG(5, 5))
	p := c.initParams(r)
	for i := range p {
		p[i] *= 10
	}
	inputs := make([]int, c.SeqLen)
	for i := range inputs {
		inputs[i] = r.IntN(c.VocabSize)
	}
	s := newSeqState[float32](c)
	s.forward(p, inputs, nil)
	// forward leaves softmax probabilities; compare log-softmax.
	d := NewDecoder(c, p)
	for pos, tok := range inputs {
		logits := d.Step(tok, pos)
		mx := logits[0]
		for _, v := range logits {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range logits {
			sum += math.Exp(float64(v - mx))
		}
		for j, v := range logits {
			want := math.Log(float64(s.probs[pos*c.VocabSize+j]))
			got := float64(v-mx) - math.Log(sum)
			if math.Abs(got-want) > 1e-3*max(1, math.Abs(want)) {
				t.Fatalf("pos %d token %d: decoder log-prob %v, training forward %v", pos, j, got, want)
			}
		}
	}
}

func TestScheduleShape(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, Total: 110}
	for _, tc := range []struct {
		step int
		want float64
	}{{1, 1e-4}, {5, 5e-4}, {10, 1e-3}, {60, 5.5e-4}, {110, 1e-4}, {200, 1e-4}} {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
}

func FuzzReadCheckpoint(f *testing.F) {
	var buf bytes.Buffer
	WriteCheckpoint(&buf, tinyConfig, tinyConfig.initParams(rand.New(rand.NewPCG(1, 1))))
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		c, p, err := ReadCheckpoint(data)
		if err == nil && len(p) != c.NumParams() {
			t.Fatalf("%d params for %+v", len(p), c)
		}
	})
}
