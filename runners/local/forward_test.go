package local

import (
	"testing"
)

// fp32Bound is the relative L2 error allowed between the fp32 forward pass
// and the float64 reference, per position's logits. Measured errors are
// around 1e-6; float32 accumulation over dim ≤ 2048 stays far below this.
const fp32Bound = 1e-4

// q8Bound is the bound for Q8_0 checkpoints against the float64 reference
// over the same (dequantized) weights: the remaining error is the int8
// quantization of the activations (group size 32..64), about 1%.
const q8Bound = 5e-2

// checkAgainstReference runs the engine over toks and compares each
// position's logits with refForward.
func checkAgainstReference(t *testing.T, m *Model, ref *testWeights, toks []int, bound float64) {
	t.Helper()
	want := refForward(ref, toks)
	e := newEngine(m, len(toks), 1, 2)
	defer e.close()
	c := e.newCache()
	worst := 0.0
	for pos, tk := range toks {
		e.step(1, []int{tk}, []int{pos}, []*kvCache{c}, []bool{true})
		err := relErr(e.logits[:m.Params.VocabSize], want[pos])
		worst = max(worst, err)
		if !(err <= bound) {
			t.Errorf("position %d: relative error %.3g > %.3g", pos, err, bound)
		}
	}
	t.Logf("%s: worst relative L2 error of the logits over %d positions: %.3g (bound %.3g)", m.Format, len(toks), worst, bound)
}

func TestForwardMatchesReference(t *testing.T) {
	small := Params{Dim: 64, HiddenDim: 172, Layers: 3, Heads: 8, KVHeads: 4, VocabSize: 300, SeqLen: 32}
	untied := small
	untied.VocabSize, untied.KVHeads = 256, 2
	tests := []struct {
		name      string
		p         Params
		positions int
		large     bool
	}{
		{"gqa-shared", withShared(small, true), 12, false},
		{"gqa-untied", withShared(untied, false), 12, false},
		{"stories15M", withShared(shape15M, true), 6, false},
		{"stories42M", withShared(shape42M, true), 3, true},
		{"stories110M", withShared(shape110M, true), 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.large && (testing.Short() || raceEnabled) {
				t.Skip("large shape skipped in -short and -race runs")
			}
			w := randomWeights(tc.p, 7)
			m, err := LoadModel(w.writeV0(t))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			toks := make([]int, tc.positions)
			for i := range toks {
				toks[i] = (i*7919 + 1) % tc.p.VocabSize
			}
			checkAgainstReference(t, m, w, toks, fp32Bound)
		})
	}
}

func withShared(p Params, shared bool) Params {
	p.SharedClassifier = shared
	p.NormEps, p.RopeTheta = 1e-5, 10000
	return p
}

// TestFormatsAgree loads the same weights as v0, v1 and v2 (Q8_0): v1 gives
// bit-identical logits to v0, v2 stays within q8Bound of the reference over
// its dequantized weights.
func TestFormatsAgree(t *testing.T) {
	for _, shared := range []bool{true, false} {
		p := withShared(Params{Dim: 128, HiddenDim: 320, Layers: 2, Heads: 4, KVHeads: 2, VocabSize: 512, SeqLen: 16}, shared)
		w := randomWeights(p, 11)
		toks := []int{1, 100, 200, 300, 400, 5}
		run := func(path string) (*Model, [][]float32) {
			m, err := LoadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(m, len(toks), 1, 2)
			defer e.close()
			c := e.newCache()
			var out [][]float32
			for pos, tk := range toks {
				e.step(1, []int{tk}, []int{pos}, []*kvCache{c}, []bool{true})
				out = append(out, append([]float32(nil), e.logits[:p.VocabSize]...))
			}
			return m, out
		}
		m0, l0 := run(w.writeV0(t))
		m1, l1 := run(w.writeV12(t, 1, 0))
		if m0.Format != "llama2c-v0" || m1.Format != "llama2c-v1" {
			t.Errorf("formats %q, %q", m0.Format, m1.Format)
		}
		for pos := range l0 {
			for i := range l0[pos] {
				if l0[pos][i] != l1[pos][i] {
					t.Fatalf("shared=%v: v1 logit[%d][%d] = %v, v0 %v", shared, pos, i, l1[pos][i], l0[pos][i])
				}
			}
		}
		m0.Close()
		m1.Close()
		m2, err := LoadModel(w.writeV12(t, 2, 64))
		if err != nil {
			t.Fatal(err)
		}
		if !m2.Quantized() || m2.Format != "llama2c-v2-q8_0" {
			t.Errorf("v2 model: quantized %v, format %q", m2.Quantized(), m2.Format)
		}
		checkAgainstReference(t, m2, w.dequantized(64), toks, q8Bound)
		m2.Close()
	}
}

// TestBatchedStepMatchesSingle checks that decoding sequences together in
// one step gives bit-identical logits to decoding each alone (batches of 1
// to 6 exercise the one- and four-vector kernels).
func TestBatchedStepMatchesSingle(t *testing.T) {
	p := withShared(Params{Dim: 64, HiddenDim: 192, Layers: 2, Heads: 8, KVHeads: 4, VocabSize: 300, SeqLen: 32}, true)
	w := randomWeights(p, 3)
	for _, gs := range []int{0, 32} {
		path := w.writeV0(t)
		if gs > 0 {
			path = w.writeV12(t, 2, gs)
		}
		m, err := LoadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		seqs := [][]int{{1, 5, 9, 13, 17, 21}, {1, 7, 7}, {1, 200, 100, 50}, {1, 2, 3, 4, 5}, {1, 9}, {1, 299, 298, 297, 296}}
		// Alone.
		alone := make([][][]float32, len(seqs))
		e := newEngine(m, 16, 8, 2)
		for i, s := range seqs {
			c := e.newCache()
			for pos, tk := range s {
				e.step(1, []int{tk}, []int{pos}, []*kvCache{c}, []bool{true})
				alone[i] = append(alone[i], append([]float32(nil), e.logits[:p.VocabSize]...))
			}
		}
		// Together: sequences join late and leave early.
		caches := []*kvCache{e.newCache(), e.newCache(), e.newCache(), e.newCache(), e.newCache(), e.newCache()}
		start := []int{0, 2, 1, 0, 3, 1}
		for step := 0; step < 8; step++ {
			var toks, pos []int
			var cs []*kvCache
			var idx []int
			for i, s := range seqs {
				ps := step - start[i]
				if ps < 0 || ps >= len(s) {
					continue
				}
				toks, pos, cs, idx = append(toks, s[ps]), append(pos, ps), append(cs, caches[i]), append(idx, i)
			}
			if len(toks) == 0 {
				continue
			}
			want := []bool{true, true, true, true, true, true}
			e.step(len(toks), toks, pos, cs, want)
			for b, i := range idx {
				got := e.logits[b*p.VocabSize : (b+1)*p.VocabSize]
				for v := range got {
					if got[v] != alone[i][pos[b]][v] {
						t.Fatalf("gs=%d seq %d pos %d: batched logit %d = %v, alone %v", gs, i, pos[b], v, got[v], alone[i][pos[b]][v])
					}
				}
			}
		}
		e.close()
		m.Close()
	}
}

// TestStepAllocatesNothing: a decode step (fp32 and Q8_0, batched)
// allocates nothing.
func TestStepAllocatesNothing(t *testing.T) {
	p := withShared(Params{Dim: 64, HiddenDim: 192, Layers: 2, Heads: 8, KVHeads: 4, VocabSize: 300, SeqLen: 64}, true)
	w := randomWeights(p, 1)
	for _, path := range []string{w.writeV0(t), w.writeV12(t, 2, 32)} {
		m, err := LoadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		e := newEngine(m, 64, 4, 2)
		c := []*kvCache{e.newCache(), e.newCache()}
		toks, pos, want := []int{1, 1}, []int{0, 0}, []bool{true, true}
		n := testing.AllocsPerRun(50, func() {
			e.step(2, toks, pos, c, want)
			pos[0], pos[1] = (pos[0]+1)%60, (pos[1]+1)%60
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per step, want 0", m.Format, n)
		}
		e.close()
		m.Close()
	}
}
