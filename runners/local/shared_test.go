package local

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedModels finds the shared test models: a directory shared/models in
// the package directory or one of its parents (the repository's sibling
// ../shared). Without it the test is skipped, except under CI=true, where
// it fails.
func sharedModels(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "models")
		if _, err := os.Stat(filepath.Join(p, "stories260K.bin")); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared/models (stories260K.bin, tok512.bin, stories260K.gguf, tokenizer.bin) not found above the package directory; CI requires it")
	}
	t.Skip("skipping: shared/models not found above the package directory (the ../shared test models); set it up to run this test")
	return ""
}

func readGolden(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// greedyRunC generates as llama2.c's run.c does with -t 0 -n steps: it feeds
// the prompt, then argmax, for steps positions in all, stopping at BOS, and
// returns the printed text (prompt pieces included).
func greedyRunC(t *testing.T, m *Model, tok *Tokenizer, prompt string, steps int) string {
	t.Helper()
	e := newEngine(m, m.Params.SeqLen, 1, 2)
	defer e.close()
	c := e.newCache()
	toks := tok.Encode(prompt, true, false)
	steps = min(steps, m.Params.SeqLen)
	var out []byte
	token := toks[0]
	for pos := 0; pos < steps; pos++ {
		want := pos >= len(toks)-1
		e.step(1, []int{token}, []int{pos}, []*kvCache{c}, []bool{want})
		next := 0
		if !want {
			next = toks[pos+1]
		} else {
			next = argmax(e.logits[:m.Params.VocabSize])
		}
		if next == 1 {
			break
		}
		out = append(out, tok.Decode(token, next)...)
		token = next
	}
	return string(out)
}
