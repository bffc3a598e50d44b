package local

import (
	"os"
	"testing"
)

// FuzzCheckpointHeader mutates llama2.c checkpoints (v0, v1, v2): the
// parser must refuse or accept without panicking, and an accepted model's
// tensors must lie inside the data.
func FuzzCheckpointHeader(f *testing.F) {
	w := randomWeights(Params{Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 1, VocabSize: 8, SeqLen: 4, SharedClassifier: true}, 1)
	for _, path := range []string{w.writeV0(f), w.writeV12(f, 1, 0), w.writeV12(f, 2, 32)} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseModel(data, "fuzz")
		if err != nil {
			return
		}
		if err := m.Params.validate(); err != nil {
			t.Fatalf("accepted invalid params: %v", err)
		}
		// Touch the last weight of every matrix.
		for _, l := range m.layers {
			for _, x := range []*matrix{&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3} {
				row := make([]float32, x.cols)
				x.row(x.rows-1, row)
			}
		}
		row := make([]float32, m.cls.cols)
		m.cls.row(m.cls.rows-1, row)
	})
}

// FuzzGGUF mutates GGUF files: header, metadata and tensor table.
func FuzzGGUF(f *testing.F) {
	w := randomWeights(Params{Dim: 32, HiddenDim: 64, Layers: 1, Heads: 2, KVHeads: 1, VocabSize: 260, SeqLen: 4}, 2)
	for _, typ := range []uint32{ggmlF32, ggmlF16, ggmlQ8_0} {
		b := ggufBytes(w, typ)
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseModel(data, "fuzz")
		if err != nil {
			return
		}
		if m.Vocab == nil || m.Vocab.VocabSize() != m.Params.VocabSize {
			t.Fatalf("accepted a GGUF model without a matching vocabulary")
		}
		m.Vocab.Encode("fuzz text", true, true)
	})
}

// FuzzTokenizer parses tokenizer.bin data and round-trips text through a
// fixed vocabulary: every string (valid UTF-8 or not) decodes to itself.
func FuzzTokenizer(f *testing.F) {
	f.Add(tokenizerBytes([]string{"<unk>", "<s>", "</s>", "a", " a", "ab"}, 4), "a ab")
	f.Add([]byte{7, 0, 0, 0}, "")
	f.Add([]byte{}, "\xff\xfe é 🧙")
	tok := testTokenizer(f)
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		if pt, err := ParseTokenizer(data, 0); err == nil {
			ids := pt.Encode(text, true, false)
			for _, id := range ids {
				if id < 0 || id >= pt.VocabSize() {
					t.Fatalf("Encode produced token %d outside the vocabulary of %d", id, pt.VocabSize())
				}
			}
			pt.DecodeAll(ids)
		}
		ids := tok.Encode(text, true, false)
		if got := tok.DecodeAll(ids); got != text {
			t.Fatalf("DecodeAll(Encode(%q)) = %q (tokens %v)", text, got, ids)
		}
	})
}
