package train

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Special token ids, as llama2.c's run.c expects them.
const (
	UNK = 0 // <unk>
	BOS = 1 // <s>: begins every story; generating it ends a sample
	EOS = 2 // </s>
	// byteBase is the id of <0x00>; byte b falls back to token b+byteBase.
	byteBase = 3
	// numBase is the number of fixed tokens: the three specials and 256 bytes.
	numBase = byteBase + 256
)

// MaxVocab is the largest vocabulary the trainer handles: token ids are
// stored as uint16.
const MaxVocab = 1 << 16

// charScore is the score of single-character pieces. They are never the
// result of a merge, so any value below every merge score does.
const charScore = -1e6

// Tokenizer is a llama2.c BPE vocabulary: pieces with merge scores, where
// encoding merges the adjacent pair whose concatenation is the
// best-scoring piece. A Tokenizer is immutable once built and safe for
// concurrent use; an Encoder (its fast, caching encoder) is not.
type Tokenizer struct {
	Pieces []string
	Scores []float32
	index  map[string]int
}

func newTokenizerFrom(pieces []string, scores []float32) *Tokenizer {
	t := &Tokenizer{Pieces: pieces, Scores: scores, index: make(map[string]int, len(pieces))}
	for i, p := range pieces {
		if _, dup := t.index[p]; !dup {
			t.index[p] = i
		}
	}
	return t
}

// VocabSize is the number of pieces.
func (t *Tokenizer) VocabSize() int { return len(t.Pieces) }

// charClass groups code points for pre-tokenization: merges never cross
// a change of class or a space, so encoding a text chunk by chunk equals
// llama2.c's whole-text encoding.
func charClass(r rune) int {
	switch {
	case r == ' ':
		return 0
	case unicode.IsLetter(r):
		return 1
	case unicode.IsDigit(r):
		return 2
	default:
		return 3
	}
}

// chunks splits s into pre-tokenization chunks: an optional single leading
// space followed by a maximal run of one character class; a space followed
// by a space is a chunk of its own.
func chunks(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		start := i
		if s[i] == ' ' {
			i++
			if i == len(s) || s[i] == ' ' {
				out = append(out, s[start:i])
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		c := charClass(r)
		i += n
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if charClass(r) != c || c == 0 {
				break
			}
			i += n
		}
		out = append(out, s[start:i])
	}
	return out
}

// TrainBPE learns a vocabulary of at most vocabSize pieces from texts,
// each encoded as llama2.c will encode it (with the dummy-prefix space).
// The vocabulary holds <unk>, <s>, </s>, the 256 byte tokens, every
// character that occurs in texts, then merged pieces in the order they
// were learned, scored so that llama2.c's encoder applies them in that
// order. It stops early when no pair occurs twice.
func TrainBPE(texts []string, vocabSize int) (*Tokenizer, error) {
	if vocabSize < numBase+2 || vocabSize > MaxVocab {
		return nil, fmt.Errorf("train: vocabulary size %d outside %d..%d", vocabSize, numBase+2, MaxVocab)
	}
	words := map[string]int{}
	chars := map[string]int{}
	for _, t := range texts {
		if t == "" {
			continue
		}
		for _, c := range chunks(" " + t) {
			words[c]++
		}
	}
	for w, n := range words {
		for _, r := range w {
			chars[string(r)] += n
		}
	}
	pieces := []string{"<unk>", "<s>", "</s>"}
	scores := []float32{0, 0, 0}
	for b := 0; b < 256; b++ {
		pieces = append(pieces, fmt.Sprintf("<0x%02X>", b))
		scores = append(scores, 0)
	}
	charList := make([]string, 0, len(chars))
	for c := range chars {
		charList = append(charList, c)
	}
	sort.Slice(charList, func(i, j int) bool {
		a, b := charList[i], charList[j]
		if chars[a] != chars[b] {
			return chars[a] > chars[b]
		}
		return a < b
	})
	if len(pieces)+len(charList) > vocabSize {
		return nil, fmt.Errorf("train: %d distinct characters do not fit a vocabulary of %d", len(charList), vocabSize)
	}
	index := map[string]int{}
	for _, c := range charList {
		index[c] = len(pieces)
		pieces = append(pieces, c)
		scores = append(scores, charScore)
	}
	// Each distinct chunk as a sequence of piece ids, in a fixed order.
	type word struct {
		syms  []int
		count int
	}
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	sort.Strings(keys)
	ws := make([]word, len(keys))
	for i, k := range keys {
		for _, r := range k {
			ws[i].syms = append(ws[i].syms, index[string(r)])
		}
		ws[i].count = words[k]
	}
	type pair struct{ a, b int }
	for merge := 0; len(pieces) < vocabSize; merge++ {
		counts := map[pair]int{}
		for _, w := range ws {
			for i := 0; i+1 < len(w.syms); i++ {
				counts[pair{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		best, bestN := pair{}, 1
		for p, n := range counts {
			if n > bestN || n == bestN && (p.a < best.a || p.a == best.a && p.b < best.b) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		s := pieces[best.a] + pieces[best.b]
		id, ok := index[s]
		if !ok {
			id = len(pieces)
			index[s] = id
			pieces = append(pieces, s)
			scores = append(scores, -float32(merge))
		}
		for wi := range ws {
			syms := ws[wi].syms
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best.a && syms[i+1] == best.b {
					out = append(out, id)
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			ws[wi].syms = out
		}
	}
	return newTokenizerFrom(pieces, scores), nil
}

// encodeChunk applies llama2.c's algorithm to one piece of text: code
// points looked up as pieces (else byte fallback), then repeated merging
// of the adjacent pair whose concatenation is the best-scoring piece
// (leftmost on ties).
func (t *Tokenizer) encodeChunk(s string, out []int) []int {
	start := len(out)
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		if id, ok := t.index[s[i:i+n]]; ok {
			out = append(out, id)
		} else {
			for k := i; k < i+n; k++ {
				out = append(out, int(s[k])+byteBase)
			}
		}
		i += n
	}
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := start; i+1 < len(out); i++ {
			if id, ok := t.index[t.Pieces[out[i]]+t.Pieces[out[i+1]]]; ok && t.Scores[id] > best {
				best, bestID, bestIdx = t.Scores[id], id, i
			}
		}
		if bestIdx < 0 {
			return out
		}
		out[bestIdx] = bestID
		out = append(out[:bestIdx+1], out[bestIdx+2:]...)
	}
}

// EncodeWhole encodes text exactly as llama2.c's run.c does, over the
// whole text at once: BOS when bos, the dummy-prefix " " when text is not
// empty, then encodeChunk. It is quadratic; Encoder is the fast path.
func (t *Tokenizer) EncodeWhole(text string, bos bool) []int {
	var out []int
	if bos {
		out = append(out, BOS)
	}
	if text == "" {
		return out
	}
	return t.encodeChunk(" "+text, out)
}

// Encoder encodes chunk by chunk with a cache; its output equals
// EncodeWhole's. It is not safe for concurrent use.
type Encoder struct {
	t     *Tokenizer
	cache map[string][]int
}

// NewEncoder returns an Encoder for t.
func (t *Tokenizer) NewEncoder() *Encoder {
	return &Encoder{t: t, cache: map[string][]int{}}
}

// Encode appends text's tokens to out (BOS first when bos) and returns it.
func (e *Encoder) Encode(out []int, text string, bos bool) []int {
	if bos {
		out = append(out, BOS)
	}
	if text == "" {
		return out
	}
	for _, c := range chunks(" " + text) {
		ids, ok := e.cache[c]
		if !ok {
			ids = e.t.encodeChunk(c, nil)
			e.cache[c] = ids
		}
		out = append(out, ids...)
	}
	return out
}

// Decode returns the text of ids as llama2.c prints it: byte tokens
// become their byte, a piece's leading space right after BOS is dropped,
// and BOS/EOS/UNK print nothing.
func (t *Tokenizer) Decode(ids []int) string { return t.decode(BOS, ids) }

// DecodeAfter is Decode for tokens that continue a text, keeping the
// first piece's leading space.
func (t *Tokenizer) DecodeAfter(ids []int) string { return t.decode(EOS, ids) }

func (t *Tokenizer) decode(prev int, ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		switch {
		case id < byteBase:
		case id < numBase:
			b.WriteByte(byte(id - byteBase))
		default:
			p := t.Pieces[id]
			if prev == BOS {
				p = strings.TrimPrefix(p, " ")
			}
			b.WriteString(p)
		}
		prev = id
	}
	return b.String()
}

// WriteTo writes the llama2.c tokenizer.bin format: int32
// max_token_length, then per piece a float32 score, an int32 byte length
// and the bytes.
func (t *Tokenizer) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	maxLen := 0
	for _, p := range t.Pieces {
		maxLen = max(maxLen, len(p))
	}
	var n int64
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[:4], uint32(maxLen))
	bw.Write(buf[:4])
	n += 4
	for i, p := range t.Pieces {
		binary.LittleEndian.PutUint32(buf[:4], math.Float32bits(t.Scores[i]))
		binary.LittleEndian.PutUint32(buf[4:], uint32(len(p)))
		bw.Write(buf[:])
		bw.WriteString(p)
		n += 8 + int64(len(p))
	}
	return n, bw.Flush()
}

// ReadTokenizer parses a tokenizer.bin as WriteTo writes it.
func ReadTokenizer(data []byte) (*Tokenizer, error) {
	if len(data) < 4 {
		return nil, errors.New("train: tokenizer: truncated header")
	}
	maxLen := int(binary.LittleEndian.Uint32(data))
	var pieces []string
	var scores []float32
	for off := 4; off < len(data); {
		if len(data)-off < 8 {
			return nil, fmt.Errorf("train: tokenizer: truncated at token %d", len(pieces))
		}
		s := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int(int32(binary.LittleEndian.Uint32(data[off+4:])))
		off += 8
		if n < 0 || n > maxLen || n > len(data)-off {
			return nil, fmt.Errorf("train: tokenizer: token %d has bad length %d", len(pieces), n)
		}
		pieces = append(pieces, string(data[off:off+n]))
		scores = append(scores, s)
		off += n
	}
	if len(pieces) < numBase {
		return nil, fmt.Errorf("train: tokenizer: %d pieces, want at least %d", len(pieces), numBase)
	}
	return newTokenizerFrom(pieces, scores), nil
}

// SaveTokenizer writes t to path.
func SaveTokenizer(t *Tokenizer, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := t.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadTokenizer reads a tokenizer.bin from path.
func LoadTokenizer(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ReadTokenizer(data)
}
