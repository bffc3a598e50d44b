package local

import (
	"encoding/binary"
	"fmt"
)

// llama2.c checkpoint formats (karpathy/llama2.c export.py):
//
//	v0  legacy: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
//	    vocab_size, seq_len; a negative vocab_size means an untied
//	    classifier), then fp32 tensors in run.c's order.
//	v1  uint32 magic 0x616b3432 ("ak42"), int32 version 1, the 7 ints, a
//	    shared-classifier byte, zero padding to 256 bytes, fp32 tensors.
//	v2  as v1 with version 2 and an int32 group size after the shared byte;
//	    norms fp32, every matrix Q8_0 (int8 values then fp32 group scales).
const (
	llama2cMagic     = 0x616b3432
	llama2cHeaderLen = 256
	v0HeaderLen      = 7 * 4
)

// LoadModel opens a checkpoint: a llama2.c .bin (v0, v1 or v2) or a GGUF
// file, chosen by its magic. Every size is validated against the file length
// before any weight is used; a malformed or truncated file is refused.
func LoadModel(path string) (*Model, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	m, err := openMapping(path)
	if err != nil {
		return nil, fmt.Errorf("local: open model: %w", err)
	}
	model, err := parseModel(m.data, path)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("local: %w", err)
	}
	model.m = m
	return model, nil
}

// parseModel builds a Model over data (which it aliases).
func parseModel(data []byte, name string) (*Model, error) {
	if len(data) >= 4 && string(data[:4]) == "GGUF" {
		return parseGGUF(data, name)
	}
	if len(data) >= 8 && binary.LittleEndian.Uint32(data) == llama2cMagic {
		switch v := int32(binary.LittleEndian.Uint32(data[4:])); v {
		case 1, 2:
			return parseLlama2cV12(data, name, int(v))
		default:
			return nil, fmt.Errorf("%s: unsupported llama2.c checkpoint version %d (want 1 or 2)", name, v)
		}
	}
	return parseLlama2cV0(data, name)
}

// readHeaderInts decodes the 7 header ints into Params.
func readHeaderInts(b []byte) (Params, bool) {
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	p := Params{
		Dim: int(h[0]), HiddenDim: int(h[1]), Layers: int(h[2]), Heads: int(h[3]),
		KVHeads: int(h[4]), VocabSize: int(h[5]), SeqLen: int(h[6]),
		NormEps: 1e-5, RopeTheta: 10000,
	}
	negVocab := h[5] < 0
	if negVocab {
		p.VocabSize = -int(h[5])
	}
	return p, negVocab
}

func parseLlama2cV0(data []byte, name string) (*Model, error) {
	if len(data) < v0HeaderLen {
		return nil, fmt.Errorf("%s: truncated: %d bytes is shorter than a llama2.c header", name, len(data))
	}
	p, negVocab := readHeaderInts(data)
	p.SharedClassifier = !negVocab
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: not a llama2.c checkpoint (or corrupt header): %w", name, err)
	}
	if err := checkSize(name, int64(len(data)), v0HeaderLen+4*v0Floats(p)); err != nil {
		return nil, err
	}
	c := &cursor{b: data, off: v0HeaderLen, name: name}
	md := &Model{Params: p, Format: "llama2c-v0", layers: make([]layerWeights, p.Layers)}
	L, d, kv, h, v := int64(p.Layers), int64(p.Dim), int64(p.KVDim()), int64(p.HiddenDim), int64(p.VocabSize)
	var err error
	f := func(n int64, what string) []float32 {
		if err != nil {
			return nil
		}
		var out []float32
		out, err = c.f32s(n, what)
		return out
	}
	emb := f(v*d, "token_embedding_table")
	rmsAtt := f(L*d, "rms_att_weight")
	wq := f(L*d*d, "wq")
	wk := f(L*d*kv, "wk")
	wv := f(L*d*kv, "wv")
	wo := f(L*d*d, "wo")
	rmsFFN := f(L*d, "rms_ffn_weight")
	w1 := f(L*h*d, "w1")
	w2 := f(L*d*h, "w2")
	w3 := f(L*h*d, "w3")
	md.finalNorm = f(d, "rms_final_weight")
	half := int64(p.SeqLen) * int64(p.HeadSize()) / 2
	f(2*half, "freq_cis")
	var wcls []float32
	if !p.SharedClassifier {
		wcls = f(v*d, "wcls")
	}
	if err != nil {
		return nil, err
	}
	md.tokEmb = matrix{rows: p.VocabSize, cols: p.Dim, f: emb}
	if p.SharedClassifier {
		md.cls = md.tokEmb
	} else {
		md.cls = matrix{rows: p.VocabSize, cols: p.Dim, f: wcls}
	}
	D, KV, H := p.Dim, p.KVDim(), p.HiddenDim
	for l := range md.layers {
		lw := &md.layers[l]
		lw.attNorm = rmsAtt[l*D : (l+1)*D]
		lw.ffnNorm = rmsFFN[l*D : (l+1)*D]
		lw.wq = matrix{rows: D, cols: D, f: wq[l*D*D : (l+1)*D*D]}
		lw.wk = matrix{rows: KV, cols: D, f: wk[l*KV*D : (l+1)*KV*D]}
		lw.wv = matrix{rows: KV, cols: D, f: wv[l*KV*D : (l+1)*KV*D]}
		lw.wo = matrix{rows: D, cols: D, f: wo[l*D*D : (l+1)*D*D]}
		lw.w1 = matrix{rows: H, cols: D, f: w1[l*H*D : (l+1)*H*D]}
		lw.w2 = matrix{rows: D, cols: H, f: w2[l*D*H : (l+1)*D*H]}
		lw.w3 = matrix{rows: H, cols: D, f: w3[l*H*D : (l+1)*H*D]}
	}
	return md, nil
}

// v0Floats is the number of float32 values after a v0 header.
func v0Floats(p Params) int64 {
	L, d, kv, h, v := int64(p.Layers), int64(p.Dim), int64(p.KVDim()), int64(p.HiddenDim), int64(p.VocabSize)
	n := v*d + 2*L*d + 2*L*d*d + 2*L*d*kv + 3*L*h*d + d + int64(p.SeqLen)*int64(p.HeadSize())
	if !p.SharedClassifier {
		n += v * d
	}
	return n
}

func checkSize(name string, got, want int64) error {
	if got < want {
		return fmt.Errorf("%s: truncated: the header implies %d bytes, the file has %d", name, want, got)
	}
	if got > want {
		return fmt.Errorf("%s: malformed: the header implies %d bytes, the file has %d (%d trailing)", name, want, got, got-want)
	}
	return nil
}

func parseLlama2cV12(data []byte, name string, version int) (*Model, error) {
	if len(data) < llama2cHeaderLen {
		return nil, fmt.Errorf("%s: truncated: %d bytes is shorter than the 256-byte v%d header", name, len(data), version)
	}
	p, negVocab := readHeaderInts(data[8:])
	if negVocab {
		return nil, fmt.Errorf("%s: malformed v%d header: negative vocab_size", name, version)
	}
	switch data[36] {
	case 0:
	case 1:
		p.SharedClassifier = true
	default:
		return nil, fmt.Errorf("%s: malformed v%d header: shared_classifier byte %d", name, version, data[36])
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%s: malformed v%d header: %w", name, version, err)
	}
	gs := 0
	if version == 2 {
		gs = int(int32(binary.LittleEndian.Uint32(data[37:])))
		if gs <= 0 || gs > p.Dim || p.Dim%gs != 0 || p.HiddenDim%gs != 0 {
			return nil, fmt.Errorf("%s: malformed v2 header: group size %d must divide dim %d and hidden_dim %d", name, gs, p.Dim, p.HiddenDim)
		}
	}
	L, d, kv, h, v := int64(p.Layers), int64(p.Dim), int64(p.KVDim()), int64(p.HiddenDim), int64(p.VocabSize)
	mats := v*d + L*(2*d*d+2*d*kv+3*h*d)
	if !p.SharedClassifier {
		mats += v * d
	}
	norms := 2*L*d + d
	want := int64(llama2cHeaderLen) + 4*norms
	if version == 1 {
		want += 4 * mats
	} else {
		want += mats + 4*(mats/int64(gs))
	}
	if err := checkSize(name, int64(len(data)), want); err != nil {
		return nil, err
	}
	c := &cursor{b: data, off: llama2cHeaderLen, name: name}
	md := &Model{Params: p, layers: make([]layerWeights, p.Layers)}
	if version == 1 {
		md.Format = "llama2c-v1"
	} else {
		md.Format = "llama2c-v2-q8_0"
	}
	var err error
	f := func(n int64, what string) []float32 {
		if err != nil {
			return nil
		}
		var out []float32
		out, err = c.f32s(n, what)
		return out
	}
	mat := func(rows, cols int, what string) matrix {
		if err != nil {
			return matrix{}
		}
		n := int64(rows) * int64(cols)
		if version == 1 {
			return matrix{rows: rows, cols: cols, f: f(n, what)}
		}
		q, e := c.i8s(n, what)
		if e != nil {
			err = e
			return matrix{}
		}
		return matrix{rows: rows, cols: cols, q: q, s: f(n/int64(gs), what+" scales"), gs: gs}
	}
	for l := range md.layers {
		md.layers[l].attNorm = f(d, "attention_norm")
	}
	for l := range md.layers {
		md.layers[l].ffnNorm = f(d, "ffn_norm")
	}
	md.finalNorm = f(d, "norm")
	D, KV, H := p.Dim, p.KVDim(), p.HiddenDim
	md.tokEmb = mat(p.VocabSize, D, "tok_embeddings")
	for l := range md.layers {
		md.layers[l].wq = mat(D, D, "wq")
	}
	for l := range md.layers {
		md.layers[l].wk = mat(KV, D, "wk")
	}
	for l := range md.layers {
		md.layers[l].wv = mat(KV, D, "wv")
	}
	for l := range md.layers {
		md.layers[l].wo = mat(D, D, "wo")
	}
	for l := range md.layers {
		md.layers[l].w1 = mat(H, D, "w1")
	}
	for l := range md.layers {
		md.layers[l].w2 = mat(D, H, "w2")
	}
	for l := range md.layers {
		md.layers[l].w3 = mat(H, D, "w3")
	}
	if p.SharedClassifier {
		md.cls = md.tokEmb
	} else {
		md.cls = mat(p.VocabSize, D, "output")
	}
	if err != nil {
		return nil, err
	}
	return md, nil
}
