package train

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
)

// Config is a llama2.c model's shape. There is no useful zero value:
// every field must be set (see Validate).
type Config struct {
	Dim       int // model width
	HiddenDim int // SwiGLU hidden width
	Layers    int
	Heads     int // query heads
	KVHeads   int // key/value heads; Heads must be a multiple
	VocabSize int
	SeqLen    int // maximum context
}

// Bounds on a model's shape; they keep every size computation far from
// integer overflow.
const (
	maxDim    = 1 << 14
	maxLayers = 1 << 10
	maxSeqLen = 1 << 20
)

// normEps is llama2.c's RMSNorm epsilon.
const normEps = 1e-5

// Validate reports whether c describes a model that can be built.
func (c Config) Validate() error {
	switch {
	case c.Dim <= 0 || c.HiddenDim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.VocabSize <= 0 || c.SeqLen <= 0:
		return fmt.Errorf("train: every model dimension must be positive: %+v", c)
	case c.Dim > maxDim || c.HiddenDim > 8*maxDim || c.Layers > maxLayers || c.Heads > c.Dim || c.SeqLen > maxSeqLen:
		return fmt.Errorf("train: model dimensions out of range (dim ≤ %d, hidden ≤ %d, layers ≤ %d, heads ≤ dim, seq_len ≤ %d): %+v",
			maxDim, 8*maxDim, maxLayers, maxSeqLen, c)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("train: dim %d is not a multiple of heads %d", c.Dim, c.Heads)
	case (c.Dim/c.Heads)%2 != 0:
		return fmt.Errorf("train: head size %d is odd; RoPE needs pairs", c.Dim/c.Heads)
	case c.KVHeads > c.Heads || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("train: heads %d is not a multiple of kv-heads %d", c.Heads, c.KVHeads)
	case c.VocabSize < numBase || c.VocabSize > MaxVocab:
		return fmt.Errorf("train: vocabulary %d outside %d..%d", c.VocabSize, numBase, MaxVocab)
	}
	return nil
}

// HeadSize is Dim/Heads.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim is the width of one position's keys or values.
func (c Config) KVDim() int { return c.Dim / c.Heads * c.KVHeads }

// layout holds the offsets of each tensor in a flat parameter vector, in
// llama2.c's v0 file order. Per-layer tensors are stacked by layer.
type layout struct {
	emb, rmsAtt, wq, wk, wv, wo, rmsFFN, w1, w2, w3, rmsFinal, total int
}

func (c Config) layout() layout {
	d, h, kv, L := c.Dim, c.HiddenDim, c.KVDim(), c.Layers
	var l layout
	off := 0
	next := func(n int) int { o := off; off += n; return o }
	l.emb = next(c.VocabSize * d)
	l.rmsAtt = next(L * d)
	l.wq = next(L * d * d)
	l.wk = next(L * kv * d)
	l.wv = next(L * kv * d)
	l.wo = next(L * d * d)
	l.rmsFFN = next(L * d)
	l.w1 = next(L * h * d)
	l.w2 = next(L * d * h)
	l.w3 = next(L * h * d)
	l.rmsFinal = next(d)
	l.total = off
	return l
}

// NumParams is the number of trainable parameters.
func (c Config) NumParams() int { return c.layout().total }

// decayMask reports, per parameter, whether AdamW's weight decay applies:
// true for the matrices (embedding and projections), false for the norm
// gains.
func (c Config) decayMask() []bool {
	l := c.layout()
	m := make([]bool, l.total)
	for i := range m {
		switch {
		case i >= l.rmsAtt && i < l.wq, i >= l.rmsFFN && i < l.w1, i >= l.rmsFinal:
		default:
			m[i] = true
		}
	}
	return m
}

// initParams returns freshly initialised parameters: norm gains 1,
// matrices N(0, 0.02²), and the residual output projections (wo, w2)
// scaled by 1/sqrt(2·layers) as GPT-2 and llama2.c's train.py do.
func (c Config) initParams(r *rand.Rand) []float32 {
	l := c.layout()
	p := make([]float32, l.total)
	std := 0.02
	resStd := 0.02 / math.Sqrt(2*float64(c.Layers))
	for i := range p {
		switch {
		case i >= l.rmsAtt && i < l.wq, i >= l.rmsFFN && i < l.w1, i >= l.rmsFinal:
			p[i] = 1
		case i >= l.wo && i < l.rmsFFN, i >= l.w2 && i < l.w3:
			p[i] = float32(r.NormFloat64() * resStd)
		default:
			p[i] = float32(r.NormFloat64() * std)
		}
	}
	return p
}

// WriteCheckpoint writes params as a llama2.c v0 checkpoint: the 7-int
// header (positive vocab_size: shared classifier), the weights in run.c's
// order, then the RoPE tables freq_cis_real and freq_cis_imag
// (seq_len × head_size/2 each) that run.c skips.
func WriteCheckpoint(w io.Writer, c Config, params []float32) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if len(params) != c.NumParams() {
		return fmt.Errorf("train: %d parameters for a model of %d", len(params), c.NumParams())
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	hdr := []int32{int32(c.Dim), int32(c.HiddenDim), int32(c.Layers), int32(c.Heads), int32(c.KVHeads), int32(c.VocabSize), int32(c.SeqLen)}
	if err := binary.Write(bw, binary.LittleEndian, hdr); err != nil {
		return err
	}
	if err := writeF32s(bw, params); err != nil {
		return err
	}
	hs := c.HeadSize()
	re := make([]float32, 0, c.SeqLen*hs/2)
	im := make([]float32, 0, c.SeqLen*hs/2)
	for pos := 0; pos < c.SeqLen; pos++ {
		for i := 0; i < hs/2; i++ {
			f := 1 / math.Pow(10000, float64(2*i)/float64(hs))
			re = append(re, float32(math.Cos(float64(pos)*f)))
			im = append(im, float32(math.Sin(float64(pos)*f)))
		}
	}
	if err := writeF32s(bw, re); err != nil {
		return err
	}
	if err := writeF32s(bw, im); err != nil {
		return err
	}
	return bw.Flush()
}

func writeF32s(w io.Writer, v []float32) error {
	buf := make([]byte, 4*4096)
	for len(v) > 0 {
		n := min(len(v), 4096)
		for i, f := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		}
		if _, err := w.Write(buf[:4*n]); err != nil {
			return err
		}
		v = v[n:]
	}
	return nil
}

func readF32s(b []byte, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// ReadCheckpoint parses a llama2.c v0 checkpoint with a shared classifier
// as WriteCheckpoint writes it.
func ReadCheckpoint(data []byte) (Config, []float32, error) {
	if len(data) < 28 {
		return Config{}, nil, errors.New("train: checkpoint: truncated header")
	}
	h := make([]int, 7)
	for i := range h {
		h[i] = int(int32(binary.LittleEndian.Uint32(data[4*i:])))
	}
	c := Config{Dim: h[0], HiddenDim: h[1], Layers: h[2], Heads: h[3], KVHeads: h[4], VocabSize: h[5], SeqLen: h[6]}
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	n := c.NumParams()
	if len(data) < 28+4*n {
		return c, nil, fmt.Errorf("train: checkpoint: %d bytes, want at least %d", len(data), 28+4*n)
	}
	return c, readF32s(data[28:], n), nil
}

// SaveCheckpoint writes a v0 checkpoint file at path.
func SaveCheckpoint(path string, c Config, params []float32) error {
	return writeFileAtomic(path, func(w io.Writer) error { return WriteCheckpoint(w, c, params) })
}

// writeFileAtomic writes path through a temporary file and a rename, so a
// reader never sees a partial file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
