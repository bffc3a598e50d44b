package local

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Params are a llama-family model's hyperparameters as a checkpoint
// declares them.
type Params struct {
	Dim       int // model (embedding) width
	HiddenDim int // SwiGLU hidden width
	Layers    int
	Heads     int // query heads
	KVHeads   int // key/value heads (grouped-query attention when < Heads)
	VocabSize int
	SeqLen    int // maximum context the model was trained for
	// SharedClassifier: the output classifier is the token embedding table.
	SharedClassifier bool
	// NormEps is the RMSNorm epsilon (1e-5 for llama2.c checkpoints).
	NormEps float32
	// RopeTheta is the RoPE frequency base (10000 for llama2.c checkpoints).
	RopeTheta float32
}

// HeadSize is Dim / Heads.
func (p Params) HeadSize() int { return p.Dim / p.Heads }

// KVDim is the width of one position's keys (or values).
func (p Params) KVDim() int { return p.Dim / p.Heads * p.KVHeads }

// Limits on the hyperparameters a checkpoint may declare. They keep every
// size computation far from integer overflow.
const (
	maxDim    = 1 << 16
	maxLayers = 1 << 10
	maxHeads  = 1 << 10
	maxVocab  = 1 << 22
	maxSeqLen = 1 << 20
)

// validate checks that p describes a computable model.
func (p Params) validate() error {
	switch {
	case p.Dim <= 0 || p.Dim > maxDim:
		return fmt.Errorf("dim %d out of range (1..%d)", p.Dim, maxDim)
	case p.HiddenDim <= 0 || p.HiddenDim > 8*maxDim:
		return fmt.Errorf("hidden_dim %d out of range (1..%d)", p.HiddenDim, 8*maxDim)
	case p.Layers <= 0 || p.Layers > maxLayers:
		return fmt.Errorf("n_layers %d out of range (1..%d)", p.Layers, maxLayers)
	case p.Heads <= 0 || p.Heads > maxHeads:
		return fmt.Errorf("n_heads %d out of range (1..%d)", p.Heads, maxHeads)
	case p.KVHeads <= 0 || p.KVHeads > p.Heads:
		return fmt.Errorf("n_kv_heads %d out of range (1..n_heads=%d)", p.KVHeads, p.Heads)
	case p.Heads%p.KVHeads != 0:
		return fmt.Errorf("n_heads %d is not a multiple of n_kv_heads %d", p.Heads, p.KVHeads)
	case p.Dim%p.Heads != 0:
		return fmt.Errorf("dim %d is not a multiple of n_heads %d", p.Dim, p.Heads)
	case (p.Dim/p.Heads)%2 != 0:
		return fmt.Errorf("head size %d is odd (RoPE rotates pairs)", p.Dim/p.Heads)
	case p.VocabSize <= 0 || p.VocabSize > maxVocab:
		return fmt.Errorf("vocab_size %d out of range (1..%d)", p.VocabSize, maxVocab)
	case p.SeqLen <= 0 || p.SeqLen > maxSeqLen:
		return fmt.Errorf("seq_len %d out of range (1..%d)", p.SeqLen, maxSeqLen)
	case !(p.NormEps > 0 && p.NormEps < 1):
		return fmt.Errorf("rms norm epsilon %g out of range (0..1)", p.NormEps)
	case !(p.RopeTheta > 1 && p.RopeTheta < 1e12):
		return fmt.Errorf("rope frequency base %g out of range", p.RopeTheta)
	}
	return nil
}

// matrix is a rows×cols row-major weight matrix, either fp32 (f) or
// group-quantized int8 (q with one scale in s per gs consecutive values).
type matrix struct {
	rows, cols int
	f          []float32
	q          []int8
	s          []float32
	gs         int
	u          []uint8 // q in the packed layout, when the kernels take it (packQ8)
}

func (m *matrix) quantized() bool { return m.q != nil }

// bytes is the number of weight bytes one full pass over m reads.
func (m *matrix) bytes() int64 {
	if m.quantized() {
		return int64(len(m.q)) + 4*int64(len(m.s))
	}
	return 4 * int64(len(m.f))
}

// row copies row r into dst (dequantizing when needed).
func (m *matrix) row(r int, dst []float32) {
	if !m.quantized() {
		copy(dst, m.f[r*m.cols:(r+1)*m.cols])
		return
	}
	q := m.q[r*m.cols : (r+1)*m.cols]
	base := r * m.cols
	for i, v := range q {
		dst[i] = float32(v) * m.s[(base+i)/m.gs]
	}
}

type layerWeights struct {
	attNorm, ffnNorm           []float32
	wq, wk, wv, wo, w1, w2, w3 matrix
}

// Model is a loaded llama-family transformer: hyperparameters and weights,
// the weights usually memory-mapped from the checkpoint file. A Model is
// immutable after loading and safe for concurrent use; Close releases the
// mapping once nothing uses the model any more.
type Model struct {
	Params Params
	// Format names the checkpoint format ("llama2c-v0", "llama2c-v1",
	// "llama2c-v2-q8_0", "gguf").
	Format string
	// Vocab is the tokenizer embedded in the checkpoint (GGUF), or nil.
	Vocab *Tokenizer

	tokEmb    matrix
	layers    []layerWeights
	finalNorm []float32
	cls       matrix
	m         *mapping
	packOnce  sync.Once
}

// pack gives every Q8_0 layer matrix and classifier the packed copy the
// build's kernels read, once per model (the embedding table is read a row
// at a time from the checkpoint's layout).
func (m *Model) pack() {
	m.packOnce.Do(func() {
		ws := []*matrix{&m.cls}
		for i := range m.layers {
			l := &m.layers[i]
			ws = append(ws, &l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3)
		}
		for _, w := range ws {
			if w.quantized() && packQ8OK(w.gs) && w.u == nil {
				packQ8(w)
				// The kernels read only the packed copy now (the embedding
				// table, which a shared classifier is, still reads rows).
				if len(m.tokEmb.q) == 0 || &w.q[0] != &m.tokEmb.q[0] {
					m.m.release(unsafe.Slice((*byte)(unsafe.Pointer(&w.q[0])), len(w.q)))
				}
			}
		}
	})
}

// Close releases the model's file mapping. The model must not be used after.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	return m.m.close()
}

// WeightBytes is the number of weight bytes one decode step reads (every
// layer matrix, the norms and the classifier; one embedding row).
func (m *Model) WeightBytes() int64 {
	var n int64
	for i := range m.layers {
		l := &m.layers[i]
		for _, w := range []*matrix{&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3} {
			n += w.bytes()
		}
		n += 4 * int64(len(l.attNorm)+len(l.ffnNorm))
	}
	n += m.cls.bytes() + 4*int64(len(m.finalNorm))
	n += 4 * int64(m.Params.Dim)
	return n
}

// Quantized reports whether the layer matrices are int8 group-quantized.
func (m *Model) Quantized() bool { return m.layers[0].wq.quantized() }

// littleEndian is true on the platforms the loaders support: checkpoints
// are little-endian and their tensors are used in place.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

var errBigEndian = errors.New("local: big-endian hosts are not supported")

// cursor reads a checkpoint sequentially, refusing to run past its end.
type cursor struct {
	b    []byte
	off  int64
	name string
}

func (c *cursor) remaining() int64 { return int64(len(c.b)) - c.off }

func (c *cursor) take(n int64, what string) ([]byte, error) {
	if n < 0 || n > c.remaining() {
		return nil, fmt.Errorf("%s: truncated: %s needs %d bytes at offset %d, file has %d", c.name, what, n, c.off, len(c.b))
	}
	b := c.b[c.off : c.off+n]
	c.off += n
	return b, nil
}

// f32s returns n float32 values in place (copied when misaligned).
func (c *cursor) f32s(n int64, what string) ([]float32, error) {
	b, err := c.take(4*n, what)
	if err != nil {
		return nil, err
	}
	return bytesToF32(b), nil
}

func (c *cursor) i8s(n int64, what string) ([]int8, error) {
	b, err := c.take(n, what)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return []int8{}, nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), n), nil
}

// bytesToF32 reinterprets b as float32s, copying when b is not 4-aligned.
func bytesToF32(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return []float32{}
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n), b)
	return out
}
