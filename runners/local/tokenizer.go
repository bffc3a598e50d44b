package local

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"unicode/utf8"
)

// Tokenizer is a SentencePiece-style BPE vocabulary as llama2.c uses it:
// each token has a piece (spaces as ' ') and a merge score. Encoding adds
// BOS and a dummy-prefix space, looks up each UTF-8 code point (falling
// back to byte tokens), then repeatedly merges the adjacent pair whose
// concatenation is the best-scoring token. It is immutable after loading
// and safe for concurrent use.
type Tokenizer struct {
	pieces [][]byte // decoded output bytes per token (<0xXX> resolved)
	vocab  []string // raw pieces
	scores []float32
	index  map[string]int32
	bytes  [256]int32 // token of each raw byte (byte fallback), -1 if none
	// BOS and EOS are the begin/end-of-sequence tokens (1 and 2 in llama2.c).
	BOS, EOS int
}

// maxPieceLen bounds one token's length in a tokenizer file.
const maxPieceLen = 1 << 16

// LoadTokenizer reads a llama2.c tokenizer.bin for a model with vocabSize
// tokens (0: as many as the file holds).
func LoadTokenizer(path string, vocabSize int) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("local: open tokenizer: %w", err)
	}
	t, err := ParseTokenizer(data, vocabSize)
	if err != nil {
		return nil, fmt.Errorf("local: tokenizer %s: %w", path, err)
	}
	return t, nil
}

// ParseTokenizer decodes the llama2.c tokenizer.bin format: int32
// max_token_length, then per token a float32 score, an int32 length and the
// piece bytes. vocabSize 0 accepts any count; otherwise the file must hold
// exactly vocabSize tokens.
func ParseTokenizer(data []byte, vocabSize int) (*Tokenizer, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("truncated: no header")
	}
	maxLen := int32(binary.LittleEndian.Uint32(data))
	if maxLen <= 0 || maxLen > maxPieceLen {
		return nil, fmt.Errorf("malformed: max_token_length %d", maxLen)
	}
	var vocab []string
	var scores []float32
	off := 4
	for off < len(data) {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("truncated: token %d header at offset %d", len(vocab), off)
		}
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int32(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if n < 0 || n > maxLen {
			return nil, fmt.Errorf("malformed: token %d has length %d (max_token_length %d)", len(vocab), n, maxLen)
		}
		if int(n) > len(data)-off {
			return nil, fmt.Errorf("truncated: token %d needs %d bytes at offset %d", len(vocab), n, off)
		}
		vocab = append(vocab, string(data[off:off+int(n)]))
		scores = append(scores, score)
		off += int(n)
		if len(vocab) > maxVocab {
			return nil, fmt.Errorf("malformed: more than %d tokens", maxVocab)
		}
	}
	if vocabSize > 0 && len(vocab) != vocabSize {
		return nil, fmt.Errorf("has %d tokens, the model's vocabulary has %d", len(vocab), vocabSize)
	}
	return newTokenizer(vocab, scores, 1, 2)
}

// newTokenizer indexes a vocabulary.
func newTokenizer(vocab []string, scores []float32, bos, eos int) (*Tokenizer, error) {
	if len(vocab) < 3 {
		return nil, fmt.Errorf("vocabulary of %d tokens is too small", len(vocab))
	}
	if len(scores) != len(vocab) {
		return nil, fmt.Errorf("%d scores for %d tokens", len(scores), len(vocab))
	}
	if bos < 0 || bos >= len(vocab) || eos < 0 || eos >= len(vocab) {
		return nil, fmt.Errorf("bos %d / eos %d outside the vocabulary of %d", bos, eos, len(vocab))
	}
	t := &Tokenizer{
		vocab:  vocab,
		scores: scores,
		pieces: make([][]byte, len(vocab)),
		index:  make(map[string]int32, len(vocab)),
		BOS:    bos,
		EOS:    eos,
	}
	for i := range t.bytes {
		t.bytes[i] = -1
	}
	for i, v := range vocab {
		if _, dup := t.index[v]; !dup {
			t.index[v] = int32(i)
		}
		if b, ok := parseByteToken(v); ok {
			t.pieces[i] = []byte{b}
			if t.bytes[b] < 0 {
				t.bytes[b] = int32(i)
			}
		} else {
			t.pieces[i] = []byte(v)
		}
	}
	// llama2.c's byte fallback is token byte+3; use it where the
	// vocabulary has no <0xXX> token for a byte.
	for b := range t.bytes {
		if t.bytes[b] < 0 && b+3 < len(vocab) {
			t.bytes[b] = int32(b + 3)
		}
	}
	return t, nil
}

// parseByteToken recognises "<0xXX>" pieces.
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(s[3])
	lo, ok2 := hexVal(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// Piece returns token id's raw vocabulary entry.
func (t *Tokenizer) Piece(id int) string { return t.vocab[id] }

// Encode tokenizes text as llama2.c's run.c does: optional BOS, the dummy
// prefix " " when text is non-empty, code points with byte fallback, then
// greedy merging of the best-scoring adjacent pair; optional EOS.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	tokens := make([]int, 0, len(text)+3)
	if bos {
		tokens = append(tokens, t.BOS)
	}
	start := len(tokens)
	if text != "" {
		if id, ok := t.index[" "]; ok {
			tokens = append(tokens, int(id))
		}
	}
	for i := 0; i < len(text); {
		// A code point as llama2.c delimits it: a lead byte and up to
		// three continuation bytes.
		j := i + 1
		for j < len(text) && text[j]&0xC0 == 0x80 && j-i < 4 {
			j++
		}
		if id, ok := t.index[text[i:j]]; ok {
			tokens = append(tokens, int(id))
		} else {
			for k := i; k < j; k++ {
				if id := t.bytes[text[k]]; id >= 0 {
					tokens = append(tokens, int(id))
				}
			}
		}
		i = j
	}
	var buf []byte
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := start; i+1 < len(tokens); i++ {
			buf = append(append(buf[:0], t.vocab[tokens[i]]...), t.vocab[tokens[i+1]]...)
			if id, ok := t.index[string(buf)]; ok && t.scores[id] > best {
				best, bestID, bestIdx = t.scores[id], int(id), i
			}
		}
		if bestIdx < 0 {
			break
		}
		tokens[bestIdx] = bestID
		tokens = append(tokens[:bestIdx+1], tokens[bestIdx+2:]...)
	}
	if eos {
		tokens = append(tokens, t.EOS)
	}
	return tokens
}

// Decode returns the bytes token id stands for after token prev: byte
// tokens become their byte, and the leading space of a piece following BOS
// is dropped (as llama2.c does). The slice must not be modified.
func (t *Tokenizer) Decode(prev, id int) []byte {
	if id < 0 || id >= len(t.pieces) {
		return nil
	}
	p := t.pieces[id]
	if prev == t.BOS && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	return p
}

// DecodeAll decodes a token sequence (starting after BOS when the first
// token is BOS) into text.
func (t *Tokenizer) DecodeAll(tokens []int) string {
	var b []byte
	prev := -1
	for _, id := range tokens {
		if id == t.BOS {
			prev = id
			continue
		}
		b = append(b, t.Decode(prev, id)...)
		prev = id
	}
	return string(b)
}

// utf8Prefix reports how many leading bytes of b form complete characters
// (invalid bytes count as complete, to be replaced), holding back only an
// incomplete but still possible multi-byte sequence at the end.
func utf8Prefix(b []byte) int {
	n := len(b)
	for back := 1; back <= 3 && back <= n; back++ {
		c := b[n-back]
		if c&0xC0 == 0x80 {
			continue // continuation byte: keep looking for the lead
		}
		if c >= 0xC0 {
			need := 2
			if c >= 0xE0 {
				need = 3
			}
			if c >= 0xF0 {
				need = 4
			}
			if back < need && utf8.FullRune(b[n-back:]) == false {
				return n - back
			}
		}
		break
	}
	return n
}
