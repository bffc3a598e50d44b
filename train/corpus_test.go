package train

import (
	"slices"
	"strings"
	"testing"
)

func TestCorpusIsDeterministicBySeed(t *testing.T) {
	a := GenerateCorpus(42, 300, 0.1)
	b := GenerateCorpus(42, 300, 0.1)
	if !slices.Equal(a.Train, b.Train) || !slices.Equal(a.Val, b.Val) {
		t.Fatal("GenerateCorpus(42) differs between calls")
	}
	if len(a.Train) != 270 || len(a.Val) != 30 {
		t.Fatalf("split = %d/%d, want 270/30", len(a.Train), len(a.Val))
	}
	c := GenerateCorpus(43, 300, 0.1)
	if slices.Equal(a.Train, c.Train) {
		t.Fatal("seeds 42 and 43 give the same corpus")
	}
}

func TestCorpusShape(t *testing.T) {
	c := GenerateCorpus(1, 2000, 0.05)
	words := map[string]bool{}
	distinct := map[string]bool{}
	for _, s := range append(c.Train, c.Val...) {
		distinct[s] = true
		if !strings.HasPrefix(s, "Once upon a time") {
			t.Fatalf("story does not open with the formula: %q", s)
		}
		if strings.ContainsAny(s, "[]{}\n") || strings.Contains(s, "  ") {
			t.Fatalf("template residue in %q", s)
		}
		if strings.Contains(s, " a a") || strings.Contains(s, " a e") || strings.Contains(s, " a o") {
			t.Fatalf("wrong article in %q", s)
		}
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
			words[strings.ToLower(w)] = true
		}
	}
	if len(distinct) < 1990 {
		t.Errorf("%d distinct stories of 2000, want nearly all distinct", len(distinct))
	}
	if n := len(words); n < 250 || n > 600 {
		t.Errorf("vocabulary of %d words, want a few hundred", n)
	}
}
