package train

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// tinyData returns a small corpus tokenized with a tokenizer trained on it.
func tinyData(t testing.TB, stories, vocab int) (*Tokenizer, []uint16, []uint16) {
	t.Helper()
	c := GenerateCorpus(3, stories, 0.1)
	tok, err := TrainBPE(c.Train, vocab)
	if err != nil {
		t.Fatal(err)
	}
	return tok, TokenizeStories(tok, c.Train), TokenizeStories(tok, c.Val)
}

func tinyOptions(vocab int) Options {
	return Options{
		Model: Config{Dim: 16, HiddenDim: 32, Layers: 1, Heads: 2, KVHeads: 1, VocabSize: vocab, SeqLen: 32},
		Steps: 40, Batch: 4, LR: 1e-2, Warmup: 2, Seed: 1, Workers: 2,
	}
}

func TestTrainingLowersLoss(t *testing.T) {
	tok, train, val := tinyData(t, 200, 400)
	tr, err := NewTrainer(tinyOptions(tok.VocabSize()), train)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before := tr.Eval(val, 8)
	for tr.StepsDone() < tr.Options().Steps {
		tr.Step()
	}
	after := tr.Eval(val, 8)
	t.Logf("val loss %.3f -> %.3f (unigram %.3f)", before, after, UnigramEntropy(val))
	if !(after < before-1) {
		t.Errorf("val loss %.3f -> %.3f, want a drop of more than 1 nat", before, after)
	}
}

func TestResumeIsBitIdentical(t *testing.T) {
	tok, train, _ := tinyData(t, 100, 350)
	opt := tinyOptions(tok.VocabSize())
	opt.Steps = 6
	run := func(workers int) *Trainer {
		o := opt
		o.Workers = workers
		tr, err := NewTrainer(o, train)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	full := run(2)
	defer full.Close()
	for full.StepsDone() < opt.Steps {
		full.Step()
	}
	half := run(1)
	for half.StepsDone() < 3 {
		half.Step()
	}
	path := filepath.Join(t.TempDir(), "state.bin")
	if err := half.SaveState(path); err != nil {
		t.Fatal(err)
	}
	half.Close()
	resumed, err := ResumeTrainer(path, train, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if resumed.StepsDone() != 3 {
		t.Fatalf("resumed at step %d, want 3", resumed.StepsDone())
	}
	for resumed.StepsDone() < opt.Steps {
		resumed.Step()
	}
	for i := range full.Params {
		if math.Float32bits(full.Params[i]) != math.Float32bits(resumed.Params[i]) {
			t.Fatalf("param %d: resumed %v, uninterrupted %v", i, resumed.Params[i], full.Params[i])
		}
	}
	if !slices.Equal(full.adam.M, resumed.adam.M) || !slices.Equal(full.adam.V, resumed.adam.V) {
		t.Fatal("optimizer moments differ after resume")
	}
}

func BenchmarkTrainStep(b *testing.B) {
	tok, train, _ := tinyData(b, 3000, 768)
	opt := Options{Model: Config{Dim: 128, HiddenDim: 384, Layers: 4, Heads: 4, KVHeads: 4, VocabSize: tok.VocabSize(), SeqLen: 256}, Steps: 100, Batch: 4}
	tr, err := NewTrainer(opt, train)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.ResetTimer()
	for b.Loop() {
		tr.Step()
	}
	b.ReportMetric(float64(b.N*opt.Batch*256)/b.Elapsed().Seconds(), "tok/s")
}
