package cuda

import (
	"bufio"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// shape is a model's hyperparameters for writeRandomModel.
type shape struct {
	dim, hidden, layers, heads, kvHeads, vocab, seqLen int
	untied                                             bool
}

// writeRandomModel writes a llama2.c v0 checkpoint with random weights
// (uniform in ±0.5/√cols for matrices, around 1 for norms) and a
// tokenizer.bin for it (the special tokens, the 256 byte tokens, then
// two-letter pieces), returning their paths.
func writeRandomModel(t testing.TB, s shape, seed uint64) (model, tok string) {
	t.Helper()
	dir := t.TempDir()
	model, tok = filepath.Join(dir, "model.bin"), filepath.Join(dir, "tok.bin")
	rng := seed | 1
	next := func() float32 { // xorshift, uniform in [-1, 1)
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return float32(rng>>40)/float32(1<<23) - 1
	}
	f, err := os.Create(model)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var cell [4]byte
	put := func(v float32) {
		binary.LittleEndian.PutUint32(cell[:], math.Float32bits(v))
		bw.Write(cell[:])
	}
	vocab := int32(s.vocab)
	if s.untied {
		vocab = -vocab
	}
	for _, v := range []int32{int32(s.dim), int32(s.hidden), int32(s.layers), int32(s.heads), int32(s.kvHeads), vocab, int32(s.seqLen)} {
		binary.Write(bw, binary.LittleEndian, v)
	}
	mat := func(rows, cols int) {
		a := float32(0.5 / math.Sqrt(float64(cols)))
		for i := 0; i < rows*cols; i++ {
			put(a * next())
		}
	}
	norm := func(n int) {
		for i := 0; i < n; i++ {
			put(1 + 0.2*next())
		}
	}
	L, D, H, V := s.layers, s.dim, s.hidden, s.vocab
	KV := D / s.heads * s.kvHeads
	for i := 0; i < V*D; i++ { // embeddings: unit-ish scale
		put(next())
	}
	norm(L * D)
	mat(L*D, D)  // wq
	mat(L*KV, D) // wk
	mat(L*KV, D) // wv
	mat(L*D, D)  // wo
	norm(L * D)
	mat(L*H, D) // w1
	mat(L*D, H) // w2
	mat(L*H, D) // w3
	norm(D)
	for i := 0; i < s.seqLen*(D/s.heads); i++ { // freq_cis (unused)
		put(0)
	}
	if s.untied {
		mat(V, D)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f, err = os.Create(tok)
	if err != nil {
		t.Fatal(err)
	}
	bw = bufio.NewWriter(f)
	binary.Write(bw, binary.LittleEndian, int32(16))
	piece := func(p string, score float32) {
		binary.Write(bw, binary.LittleEndian, score)
		binary.Write(bw, binary.LittleEndian, int32(len(p)))
		bw.WriteString(p)
	}
	piece("<unk>", 0)
	piece("\n<s>\n", 0)
	piece("\n</s>\n", 0)
	for b := 0; b < 256; b++ {
		piece(string([]byte{'<', '0', 'x', "0123456789ABCDEF"[b>>4], "0123456789ABCDEF"[b&15], '>'}), 0)
	}
	letters := "abcdefghijklmnopqrstuvwxyz"
	for i := 0; 259+i < V; i++ {
		switch {
		case i < 26:
			piece(" "+letters[i:i+1], float32(-i))
		case i < 26+26*26:
			j := i - 26
			piece(letters[j%26:j%26+1]+letters[j/26:j/26+1], float32(-i))
		default:
			piece("w"+strconv.Itoa(i), float32(-i))
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return model, tok
}

// sharedModels finds ../shared/models (as runners/local's tests do):
// skipped when absent, except under CI=true, where it fails.
func sharedModels(t testing.TB) string {
	t.Helper()
	if dir := sharedDirOrEmpty(); dir != "" {
		return dir
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared/models (stories260K.bin, tok512.bin) not found above the package directory; CI requires it")
	}
	t.Skip("skipping: shared/models not found above the package directory (the ../shared test models); set it up to run this test")
	return ""
}

// sharedDirOrEmpty returns the shared/models directory above the package
// directory, or "".
func sharedDirOrEmpty() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
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
	return ""
}
