package train

import (
	"bytes"
	"slices"
	"testing"
)

func TestTokenizerRoundTrip(t *testing.T) {
	c := GenerateCorpus(11, 400, 0.1)
	tok, err := TrainBPE(c.Train, 700)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 700 {
		t.Fatalf("VocabSize() = %d, want 700", tok.VocabSize())
	}
	for id, want := range map[int]string{UNK: "<unk>", BOS: "<s>", EOS: "</s>", 3: "<0x00>", 3 + 0x41: "<0x41>", 258: "<0xFF>"} {
		if tok.Pieces[id] != want {
			t.Errorf("piece %d = %q, want %q", id, tok.Pieces[id], want)
		}
	}
	if _, ok := tok.index[" "]; !ok {
		t.Error(`no " " piece for llama2.c's dummy prefix`)
	}
	for _, s := range c.Train {
		for _, r := range s {
			if _, ok := tok.index[string(r)]; !ok {
				t.Fatalf("character %q of the corpus is not a piece", r)
			}
		}
	}
	// Merge order is learned order: scores strictly decrease.
	for i := numBase + 1; i < len(tok.Scores); i++ {
		if tok.Scores[i] > tok.Scores[i-1] && tok.Scores[i-1] != charScore {
			t.Fatalf("score[%d] = %v after %v", i, tok.Scores[i], tok.Scores[i-1])
		}
	}

	var buf bytes.Buffer
	if _, err := tok.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTokenizer(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Pieces, tok.Pieces) || !slices.Equal(back.Scores, tok.Scores) {
		t.Fatal("tokenizer.bin does not round-trip")
	}

	enc := back.NewEncoder()
	texts := append(c.Val[:4:4], "", "Once upon a time", "  two  spaces ", "naïve café ✓ 42!", "\x01\xff bytes")
	for _, s := range texts {
		whole := back.EncodeWhole(s, true)
		fast := enc.Encode(nil, s, true)
		if !slices.Equal(whole, fast) {
			t.Errorf("Encoder(%q) = %v, EncodeWhole %v", s, fast, whole)
		}
		if got := back.Decode(whole); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	// Whole words of the corpus become few tokens.
	ids := enc.Encode(nil, c.Val[0], false)
	if r := float64(len(c.Val[0])) / float64(len(ids)); r < 2.5 {
		t.Errorf("%.2f bytes per token on %q, want at least 2.5", r, c.Val[0])
	}
}

func TestTrainBPEIsDeterministic(t *testing.T) {
	c := GenerateCorpus(4, 200, 0.1)
	a, err := TrainBPE(c.Train, 600)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := TrainBPE(c.Train, 600)
	if !slices.Equal(a.Pieces, b.Pieces) {
		t.Fatal("TrainBPE differs between runs")
	}
}

func FuzzReadTokenizer(f *testing.F) {
	c := GenerateCorpus(1, 20, 0.1)
	tok, err := TrainBPE(c.Train, 400)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	tok.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ReadTokenizer(data)
		if err != nil {
			return
		}
		tok.EncodeWhole("Once upon a time", true)
		tok.Decode([]int{BOS, 5, numBase})
	})
}
