package train_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/local"
	"github.com/actorinfer/actorinfer/train"
)

// randomTiny makes a freshly initialised tiny model with its matrices
// scaled up (std 0.5 instead of 0.02), so that greedy decoding wanders
// through the vocabulary instead of repeating one token, and writes
// model.bin and tokenizer.bin to a temporary directory. The embedding rows
// of the special and byte tokens are zeroed, so their logits are exactly 0
// and never the argmax: the text is whole pieces, which both sides print
// alike, and runs the full length.
func randomTiny(t *testing.T) (dir string, c train.Config, params []float32, tok *train.Tokenizer) {
	t.Helper()
	corpus := train.GenerateCorpus(5, 300, 0.1)
	tok, err := train.TrainBPE(corpus.Train, 420)
	if err != nil {
		t.Fatal(err)
	}
	data := train.TokenizeStories(tok, corpus.Train)
	opt := train.Options{
		Model: train.Config{Dim: 16, HiddenDim: 40, Layers: 2, Heads: 4, KVHeads: 2, VocabSize: tok.VocabSize(), SeqLen: 64},
		Seed:  2, Workers: 1,
	}
	tr, err := train.NewTrainer(opt, data)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i, p := range tr.Params {
		if p != 1 { // the RMSNorm gains start at exactly 1
			tr.Params[i] = p * 25
		}
	}
	// The token embedding table comes first (llama2.c order).
	clear(tr.Params[:(3+256)*opt.Model.Dim])
	dir = t.TempDir()
	if err := train.SaveCheckpoint(filepath.Join(dir, "model.bin"), opt.Model, tr.Params); err != nil {
		t.Fatal(err)
	}
	if err := train.SaveTokenizer(tok, filepath.Join(dir, "tokenizer.bin")); err != nil {
		t.Fatal(err)
	}
	return dir, opt.Model, tr.Params, tok
}

// TestCheckpointRunsInLocalRunner loads the written checkpoint and
// tokenizer in runners/local and checks that its greedy continuation of a
// prompt equals the trainer's own KV-cache decoder's, and that both
// tokenizers encode alike.
func TestCheckpointRunsInLocalRunner(t *testing.T) {
	dir, c, params, tok := randomTiny(t)
	r, err := local.New(local.Config{
		ModelPath:     filepath.Join(dir, "model.bin"),
		TokenizerPath: filepath.Join(dir, "tokenizer.bin"),
		Threads:       1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ltok, err := r.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	enc := tok.NewEncoder()
	for _, s := range append(train.GenerateCorpus(9, 20, 0.5).Val, "Once upon a time", "héllo, wörld ✓ 123", "") {
		want := ltok.Encode(s, true, false)
		if got := enc.Encode(nil, s, true); !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, runners/local %v", s, got, want)
		}
	}

	for _, prompt := range []string{"Once upon a time", "One day, Tom"} {
		ids := enc.Encode(nil, prompt, true)
		gen := train.NewDecoder(c, params).Greedy(ids, c.SeqLen)
		want := tok.DecodeAfter(gen)
		zero := float32(0)
		h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
			RequestId: "req",
			Messages:  []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}},
			Sampling:  &messages.Sampling{Temperature: &zero, MaxTokens: int32(c.SeqLen - len(ids) + 1)},
		})
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := runners.ReadAll(h)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, ch := range chunks {
			b.WriteString(ch.GetText())
		}
		if got := b.String(); got != want {
			t.Errorf("runners/local greedy(%q) =\n%q\ntrainer decoder\n%q", prompt, got, want)
		}
		t.Logf("%s|%s", prompt, want)
	}
}

// TestBundledModel checks testdata/models: the demo model's greedy story
// from "Once upon a time" is the same in runners/local and in the
// trainer's decoder, ends by itself (BOS) within the context, and uses
// only words of the corpus grammar.
func TestBundledModel(t *testing.T) {
	dir := filepath.Join("..", "testdata", "models")
	modelPath, tokPath := filepath.Join(dir, "demo.bin"), filepath.Join(dir, "tokenizer.bin")
	data, err := os.ReadFile(modelPath)
	if err != nil {
		t.Skipf("no bundled model: %v", err)
	}
	c, params, err := train.ReadCheckpoint(data)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := train.LoadTokenizer(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := local.New(local.Config{ModelPath: modelPath, TokenizerPath: tokPath, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	const prompt = "Once upon a time"
	ids := tok.NewEncoder().Encode(nil, prompt, true)
	gen := train.NewDecoder(c, params).Greedy(ids, c.SeqLen)
	want := tok.DecodeAfter(gen)
	zero := float32(0)
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
		RequestId: "req",
		Messages:  []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}},
		Sampling:  &messages.Sampling{Temperature: &zero, MaxTokens: int32(c.SeqLen - len(ids) + 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := runners.ReadAll(h)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ch := range chunks {
		b.WriteString(ch.GetText())
	}
	if got := b.String(); got != want {
		t.Errorf("runners/local greedy(%q) =\n%q\ntrainer decoder\n%q", prompt, got, want)
	}
	if last := chunks[len(chunks)-1]; last.GetFinishReason() != messages.FinishReason_FINISH_REASON_STOP {
		t.Errorf("story did not end by itself: finish reason %v", last.GetFinishReason())
	}
	known := map[string]bool{}
	isWordRune := func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
	for _, s := range train.GenerateCorpus(1, 5000, 0.01).Train {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) }) {
			known[w] = true
		}
	}
	for _, w := range strings.FieldsFunc(want, func(r rune) bool { return !isWordRune(r) }) {
		if !known[w] {
			t.Errorf("sample uses %q, not a word of the corpus", w)
		}
	}
	t.Logf("%s%s", prompt, want)
}
