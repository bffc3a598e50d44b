package local

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/actorinfer/actorinfer/runners/runnertest"
)

func TestConformance(t *testing.T) {
	dir := sharedModels(t)
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true, // Config.Seed fixes the sampler of seedless requests
		Stop:          true,
		New: func(t *testing.T) *runnertest.Instance {
			// A private copy of the checkpoint, so FailRebuild can remove it.
			model := filepath.Join(t.TempDir(), "stories260K.bin")
			data, err := os.ReadFile(filepath.Join(dir, "stories260K.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(model, data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := New(Config{ModelPath: model, TokenizerPath: filepath.Join(dir, "tok512.bin"), Threads: 2, Seed: 1, ContextLength: 128})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return &runnertest.Instance{
				Runner:      r,
				Stall:       r.stallForTest,
				InFlight:    r.inFlight,
				FailRebuild: func() { os.Remove(model) },
			}
		},
	})
}

// TestConformanceRandomModel runs the suite on a small random-weight model
// with a byte-level vocabulary, so it runs without the shared models too.
func TestConformanceRandomModel(t *testing.T) {
	p := withShared(Params{Dim: 64, HiddenDim: 192, Layers: 2, Heads: 4, KVHeads: 2, VocabSize: 300, SeqLen: 128}, true)
	w := randomWeights(p, 9)
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, fmt.Sprintf("<0x%02X>", b))
	}
	for len(vocab) < p.VocabSize {
		vocab = append(vocab, fmt.Sprintf(" w%d", len(vocab)))
	}
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true,
		Stop:          true,
		Prompt:        "a small test prompt", // byte-level: one token per byte
		New: func(t *testing.T) *runnertest.Instance {
			dir := t.TempDir()
			model := w.writeV0(t)
			tok := filepath.Join(dir, "tokenizer.bin")
			if err := os.WriteFile(tok, tokenizerBytes(vocab, 16), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := New(Config{ModelPath: model, TokenizerPath: tok, Threads: 2, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return &runnertest.Instance{
				Runner:      r,
				Stall:       r.stallForTest,
				InFlight:    r.inFlight,
				FailRebuild: func() { os.Remove(model) },
			}
		},
	})
}
