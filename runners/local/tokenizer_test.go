package local

import (
	"path/filepath"
	"testing"
)

// llama2.c's test_all.c vectors (Llama 2 tokenizer, from Meta's examples).
var llama2TokenizerVectors = []struct {
	text string
	want []int
}{
	{"", []int{1}},
	{"I believe the meaning of life is", []int{1, 306, 4658, 278, 6593, 310, 2834, 338}},
	{"Simply put, the theory of relativity states that ", []int{1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871}},
	{"A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n        I just ",
		[]int{1, 319, 11473, 2643, 378, 629, 271, 18099, 278, 3815, 373, 278, 6826, 29901, 13, 13, 4706, 6324, 14332, 29892, 13, 13, 4706, 306, 925, 29871}},
	{"Translate English to French:\n\n        sea otter => loutre de mer\n        peppermint => menthe poivrée\n        plush girafe => girafe peluche\n        cheese =>",
		[]int{1, 4103, 9632, 4223, 304, 5176, 29901, 13, 13, 4706, 7205, 4932, 357, 1149, 301, 449, 276, 316, 2778, 13, 4706, 1236, 407, 837, 524, 1149, 6042, 354, 772, 440, 29878, 1318, 13, 4706, 715, 1878, 330, 3055, 1725, 1149, 330, 3055, 1725, 4639, 28754, 13, 4706, 923, 968, 1149}},
}

func TestTokenizerLlama2Vectors(t *testing.T) {
	tok, err := LoadTokenizer(filepath.Join(sharedModels(t), "tokenizer.bin"), 32000)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range llama2TokenizerVectors {
		got := tok.Encode(tc.text, true, false)
		if !equalInts(got, tc.want) {
			t.Errorf("Encode(%q) =\n%v\nwant\n%v", tc.text, got, tc.want)
		}
		if dec := tok.DecodeAll(got); dec != tc.text {
			t.Errorf("DecodeAll(Encode(%q)) = %q", tc.text, dec)
		}
	}
	// Byte fallback: a character outside the vocabulary becomes its UTF-8
	// bytes as <0xXX> tokens (byte+3), and decodes back.
	const s = "\U0001F9D9 wizard"
	ids := tok.Encode(s, true, true)
	if ids[len(ids)-1] != tok.EOS {
		t.Errorf("Encode(%q, eos) does not end with EOS: %v", s, ids)
	}
	if ids[2] != 0xF0+3 || ids[3] != 0x9F+3 {
		t.Errorf("Encode(%q) = %v, want byte tokens %d %d after the prefix", s, ids, 0xF0+3, 0x9F+3)
	}
	if dec := tok.DecodeAll(ids[:len(ids)-1]); dec != s {
		t.Errorf("DecodeAll = %q, want %q", dec, s)
	}
}

func TestTokenizerDecode(t *testing.T) {
	tok := testTokenizer(t)
	for _, tc := range []struct {
		prev, id int
		want     string
	}{
		{1, int(tok.index[" a"]), "a"},     // leading space dropped after BOS
		{5, int(tok.index[" a"]), " a"},    // kept otherwise
		{5, int(tok.index["<0x41>"]), "A"}, // byte token
		{5, -1, ""},
		{5, 1 << 20, ""},
	} {
		if got := string(tok.Decode(tc.prev, tc.id)); got != tc.want {
			t.Errorf("Decode(%d, %d) = %q, want %q", tc.prev, tc.id, got, tc.want)
		}
	}
}

// testTokenizer builds a small vocabulary: specials, 256 byte tokens, and a
// few merges.
func testTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	vocab := []string{"<unk>", "<s>", "</s>"}
	for b := 0; b < 256; b++ {
		vocab = append(vocab, "<0x"+string("0123456789ABCDEF"[b>>4])+string("0123456789ABCDEF"[b&15])+">")
	}
	vocab = append(vocab, " ", "a", "b", " a", "ab", " ab", "é")
	scores := make([]float32, len(vocab))
	for i := range scores {
		scores[i] = float32(i)
	}
	tok, err := newTokenizer(vocab, scores, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUTF8Prefix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0}, {"abc", 3}, {"é", 2}, {"\xc3", 0}, {"a\xe2\x82", 1}, {"a\xe2\x82\xac", 4},
		{"\xf0\x9f\xa7", 0}, {"\xff", 1}, {"a\x80", 2}, {"\xe2\x28", 2},
	} {
		if got := utf8Prefix([]byte(tc.in)); got != tc.want {
			t.Errorf("utf8Prefix(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
