package local

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestGoldenStories260K(t *testing.T) {
	dir := sharedModels(t)
	m, err := LoadModel(filepath.Join(dir, "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := LoadTokenizer(filepath.Join(dir, "tok512.bin"), m.Params.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		prompt string
		steps  int
		golden string
	}{
		{"Once upon a time", 64, "stories260K.greedy64.onceuponatime.txt"},
		{"", 256, "stories260K.greedy256.noprompt.txt"},
	} {
		// run.c prints a newline after the generated text.
		want := strings.TrimSuffix(readGolden(t, dir, tc.golden), "\n")
		got := greedyRunC(t, m, tok, tc.prompt, tc.steps)
		if got != want {
			t.Errorf("greedy(%q, %d steps) =\n%q\nwant (%s)\n%q", tc.prompt, tc.steps, got, tc.golden, want)
		}
	}
}

// greedyNew generates n tokens greedily after prompt and returns their text.
func greedyNew(t *testing.T, m *Model, tok *Tokenizer, prompt string, n int) string {
	t.Helper()
	e := newEngine(m, m.Params.SeqLen, 1, 2)
	defer e.close()
	c := e.newCache()
	toks := tok.Encode(prompt, true, false)
	var out []byte
	token := toks[0]
	gen := 0
	for pos := 0; gen < n && pos < m.Params.SeqLen; pos++ {
		want := pos >= len(toks)-1
		e.step(1, []int{token}, []int{pos}, []*kvCache{c}, []bool{want})
		var next int
		if !want {
			next = toks[pos+1]
		} else {
			next = argmax(e.logits[:m.Params.VocabSize])
			gen++
			if next == tok.EOS {
				break
			}
			out = append(out, tok.Decode(token, next)...)
		}
		token = next
	}
	return string(out)
}

func TestGoldenStories260KGGUF(t *testing.T) {
	dir := sharedModels(t)
	m, err := LoadModel(filepath.Join(dir, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Vocab == nil {
		t.Fatal("GGUF model has no vocabulary")
	}
	// llama-cli prints a space, the prompt, the 64 generated tokens and
	// newlines (framing: the 65th token is ",", see the run.c golden).
	golden := readGolden(t, dir, "stories260K.gguf.llamacpp.greedy64.onceuponatime.txt")
	const prompt = "Once upon a time"
	want, ok := strings.CutPrefix(strings.TrimRight(golden, "\n"), " "+prompt)
	if !ok {
		t.Fatalf("golden does not start with the prompt: %q", golden)
	}
	got := greedyNew(t, m, m.Vocab, prompt, 64)
	if got != want {
		t.Errorf("GGUF greedy 64 =\n%q\nwant\n%q", got, want)
	}
	// The GGUF vocabulary tokenizes like tok512.bin.
	bin, err := LoadTokenizer(filepath.Join(dir, "tok512.bin"), 512)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{prompt, "Lily's mom said, \"Don't worry.\"\n"} {
		if a, b := m.Vocab.Encode(s, true, false), bin.Encode(s, true, false); !equalInts(a, b) {
			t.Errorf("Encode(%q): gguf %v, tok512.bin %v", s, a, b)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
