package local

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var tinyParams = Params{Dim: 64, HiddenDim: 128, Layers: 2, Heads: 4, KVHeads: 2, VocabSize: 300, SeqLen: 16, SharedClassifier: true, NormEps: 1e-5, RopeTheta: 10000}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadRefusesBadCheckpoints: truncated, padded and malformed files are
// refused with an error naming the problem, before anything runs.
func TestLoadRefusesBadCheckpoints(t *testing.T) {
	w := randomWeights(tinyParams, 1)
	v0 := readAll(t, w.writeV0(t))
	v2 := readAll(t, w.writeV12(t, 2, 32))
	gguf := readAll(t, w.writeGGUF(t, ggmlQ8_0))
	set := func(b []byte, off int, v int32) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint32(c[off:], uint32(v))
		return c
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"short header", v0[:10], "truncated"},
		{"v0 truncated", v0[:len(v0)-4], "truncated"},
		{"v0 trailing bytes", append(bytes.Clone(v0), 0, 0, 0, 0), "trailing"},
		{"v0 zero dim", set(v0, 0, 0), "dim"},
		{"v0 huge layers", set(v0, 8, 1<<30), "n_layers"},
		{"v0 heads not dividing dim", set(v0, 12, 7), "n_kv_heads"},
		{"v0 kv heads > heads", set(v0, 16, 8), "n_kv_heads"},
		{"v0 odd head size", set(set(v0, 12, 64), 16, 64), "head size"},
		{"v2 truncated", v2[:len(v2)-1], "truncated"},
		{"v2 bad version", set(v2, 4, 9), "version 9"},
		{"v2 bad group size", set(v2, 37, 48), "group size"},
		{"v2 zero group size", set(v2, 37, 0), "group size"},
		{"v2 bad shared byte", func() []byte { c := bytes.Clone(v2); c[36] = 7; return c }(), "shared_classifier"},
		{"gguf truncated data", gguf[:len(gguf)-1], "outside the file"},
		{"gguf truncated header", gguf[:40], "truncated"},
		{"gguf bad version", set(gguf, 4, 1), "version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(writeTemp(t, tc.data))
			if err == nil {
				m.Close()
				t.Fatalf("LoadModel succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadModel error = %q, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := LoadModel(filepath.Join(t.TempDir(), "missing.bin")); err == nil {
		t.Error("LoadModel(missing file) succeeded")
	}
}

// TestGGUFTensorTypes writes the same weights as GGUF F32, F16 and Q8_0 and
// checks each against the float64 reference over the weights it holds.
func TestGGUFTensorTypes(t *testing.T) {
	p := tinyParams
	p.SharedClassifier = false
	w := randomWeights(p, 5)
	toks := []int{1, 17, 42, 99, 7}
	for _, tc := range []struct {
		typ   uint32
		ref   *testWeights
		bound float64
	}{
		{ggmlF32, w, fp32Bound},
		{ggmlF16, w.roundF16(), fp32Bound},
		{ggmlQ8_0, w.dequantizedQ8_0GGUF(), q8Bound},
	} {
		m, err := LoadModel(w.writeGGUF(t, tc.typ))
		if err != nil {
			t.Fatalf("type %d: %v", tc.typ, err)
		}
		if m.Vocab == nil || m.Vocab.VocabSize() != p.VocabSize || m.Params.SharedClassifier {
			t.Errorf("type %d: vocab %v, shared %v", tc.typ, m.Vocab, m.Params.SharedClassifier)
		}
		checkAgainstReference(t, m, tc.ref, toks, tc.bound)
		m.Close()
	}
}

// TestGGUFMixedClassifier: float layers with a Q8_0 classifier (and the
// reverse) load and run.
func TestGGUFMixedClassifier(t *testing.T) {
	p := tinyParams
	p.SharedClassifier = false
	w := randomWeights(p, 6)
	for _, tc := range []struct {
		typ, cls uint32
		ref      *testWeights
	}{
		{ggmlF32, ggmlQ8_0, func() *testWeights { d := *w; d.cls = w.dequantizedQ8_0GGUF().cls; return &d }()},
		{ggmlQ8_0, ggmlF32, func() *testWeights { d := *w.dequantizedQ8_0GGUF(); d.cls = w.cls; return &d }()},
	} {
		m, err := LoadModel(w.writeGGUFMixed(t, tc.typ, tc.cls))
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, m, tc.ref, []int{1, 5, 9}, q8Bound)
		m.Close()
	}
}

func TestF16(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3C00, 1}, {0xC000, -2}, {0x0000, 0}, {0x7BFF, 65504}, {0x0001, float32(math.Ldexp(1, -24))},
		{0x03FF, float32(math.Ldexp(1023, -24))}, {0x3555, 0.33325195},
	} {
		if got := f16ToF32(tc.h); got != tc.want {
			t.Errorf("f16ToF32(%#04x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if !math.IsInf(float64(f16ToF32(0x7C00)), 1) || !math.IsNaN(float64(f16ToF32(0x7E00))) {
		t.Error("f16 inf/nan")
	}
}

func TestParseTokenizerErrors(t *testing.T) {
	good := tokenizerBytes([]string{"<unk>", "<s>", "</s>", "a"}, 8)
	if _, err := ParseTokenizer(good, 4); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		n    int
	}{
		{"empty", nil, 0},
		{"bad max len", []byte{0, 0, 0, 0}, 0},
		{"truncated entry", good[:len(good)-1], 0},
		{"wrong count", good, 5},
		{"too long piece", tokenizerBytes([]string{"<unk>", "<s>", "</s>", "abcdefghij"}, 4), 0},
	} {
		if _, err := ParseTokenizer(tc.data, tc.n); err == nil {
			t.Errorf("%s: ParseTokenizer succeeded", tc.name)
		}
	}
}

func tokenizerBytes(vocab []string, maxLen int32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, maxLen)
	for i, v := range vocab {
		binary.Write(&b, binary.LittleEndian, float32(i))
		binary.Write(&b, binary.LittleEndian, int32(len(v)))
		b.WriteString(v)
	}
	return b.Bytes()
}
