package local

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// GGUF support is limited to what a llama2.c-architecture model needs:
// general.architecture = llama, F32 / F16 / Q8_0 tensors, and the SPM
// vocabulary in the metadata (tokenizer.ggml.tokens / scores / token_type).
//
// Layout note: llama.cpp's llama architecture uses RoPE "normal" mode, which
// rotates adjacent pairs (x[2i], x[2i+1]) of each head — the same convention
// as llama2.c. Its converters bring every source into that (Meta) layout:
// convert_hf_to_gguf.py undoes the Hugging Face Q/K permutation, and
// llama-convert-llama2c-to-ggml copies llama2.c tensors unchanged. So GGUF
// Q/K rows are used as they are; the stories260K golden test pins this.

// ggml tensor types.
const (
	ggmlF32  = 0
	ggmlF16  = 1
	ggmlQ8_0 = 8
)

// GGUF metadata value types.
const (
	ggufU8 = iota
	ggufI8
	ggufU16
	ggufI16
	ggufU32
	ggufI32
	ggufF32
	ggufBool
	ggufString
	ggufArray
	ggufU64
	ggufI64
	ggufF64
)

const (
	maxGGUFTensors = 1 << 16
	maxGGUFKV      = 1 << 16
	maxGGUFString  = 1 << 20
	maxGGUFArray   = 1 << 24
	maxGGUFDims    = 4
)

// ggufValue is one metadata value: a scalar (u, i, f, s, b) or an array.
type ggufValue struct {
	typ uint32
	u   uint64
	i   int64
	f   float64
	s   string
	// For large arrays of strings/floats the typed fast paths below are used.
	strs   []string
	floats []float32
	ints   []int64
}

type ggufTensor struct {
	name   string
	dims   []uint64
	typ    uint32
	offset uint64
	data   []byte
}

// ggufFile is a parsed GGUF header.
type ggufFile struct {
	version uint32
	kv      map[string]*ggufValue
	tensors map[string]*ggufTensor
}

// ggufReader reads little-endian GGUF fields with bounds checks.
type ggufReader struct {
	c   cursor
	err error
}

func (r *ggufReader) bytes(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.c.remaining()) {
		r.err = fmt.Errorf("%s: truncated: %s needs %d bytes at offset %d, file has %d", r.c.name, what, n, r.c.off, len(r.c.b))
		return nil
	}
	b, _ := r.c.take(int64(n), what)
	return b
}

func (r *ggufReader) u32(what string) uint32 {
	b := r.bytes(4, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *ggufReader) u64(what string) uint64 {
	b := r.bytes(8, what)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *ggufReader) str(what string) string {
	n := r.u64(what + " length")
	if r.err == nil && n > maxGGUFString {
		r.err = fmt.Errorf("%s: malformed: %s has length %d", r.c.name, what, n)
	}
	return string(r.bytes(n, what))
}

func (r *ggufReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: malformed: %s", r.c.name, fmt.Sprintf(format, args...))
	}
}

// scalar reads one value of a scalar type into v.
func (r *ggufReader) scalar(typ uint32, v *ggufValue, what string) {
	v.typ = typ
	switch typ {
	case ggufU8, ggufI8, ggufBool:
		b := r.bytes(1, what)
		if b != nil {
			v.u, v.i = uint64(b[0]), int64(b[0])
			if typ == ggufI8 {
				v.i = int64(int8(b[0]))
			}
		}
	case ggufU16, ggufI16:
		b := r.bytes(2, what)
		if b != nil {
			x := binary.LittleEndian.Uint16(b)
			v.u, v.i = uint64(x), int64(x)
			if typ == ggufI16 {
				v.i = int64(int16(x))
			}
		}
	case ggufU32, ggufI32:
		x := r.u32(what)
		v.u, v.i = uint64(x), int64(x)
		if typ == ggufI32 {
			v.i = int64(int32(x))
		}
	case ggufF32:
		v.f = float64(math.Float32frombits(r.u32(what)))
	case ggufU64, ggufI64:
		x := r.u64(what)
		v.u, v.i = x, int64(x)
	case ggufF64:
		v.f = math.Float64frombits(r.u64(what))
	case ggufString:
		v.s = r.str(what)
	default:
		r.fail("%s has unknown value type %d", what, typ)
	}
}

func (r *ggufReader) value(typ uint32, what string) *ggufValue {
	v := &ggufValue{typ: typ}
	if typ != ggufArray {
		r.scalar(typ, v, what)
		return v
	}
	et := r.u32(what + " element type")
	n := r.u64(what + " count")
	if r.err != nil {
		return v
	}
	if n > maxGGUFArray {
		r.fail("%s has %d elements", what, n)
		return v
	}
	// Each element takes at least one byte: refuse counts the file cannot hold.
	if n > uint64(r.c.remaining()) {
		r.fail("%s declares %d elements, more than the file holds", what, n)
		return v
	}
	v.u = uint64(et)
	switch et {
	case ggufString:
		v.strs = make([]string, 0, n)
		for k := uint64(0); k < n && r.err == nil; k++ {
			v.strs = append(v.strs, r.str(what))
		}
	case ggufF32:
		v.floats = make([]float32, 0, n)
		for k := uint64(0); k < n && r.err == nil; k++ {
			v.floats = append(v.floats, math.Float32frombits(r.u32(what)))
		}
	case ggufArray:
		r.fail("%s: nested arrays are not supported", what)
	default:
		v.ints = make([]int64, 0, n)
		var e ggufValue
		for k := uint64(0); k < n && r.err == nil; k++ {
			r.scalar(et, &e, what)
			if et == ggufF64 {
				e.i = int64(e.f)
			}
			v.ints = append(v.ints, e.i)
		}
	}
	return v
}

// ggmlTypeSize returns the bytes of n elements of type typ.
func ggmlTypeSize(typ uint32, n uint64) (uint64, error) {
	switch typ {
	case ggmlF32:
		return 4 * n, nil
	case ggmlF16:
		return 2 * n, nil
	case ggmlQ8_0:
		if n%32 != 0 {
			return 0, fmt.Errorf("Q8_0 tensor of %d elements is not a whole number of 32-blocks", n)
		}
		return n / 32 * 34, nil
	}
	return 0, fmt.Errorf("unsupported tensor type %d (want F32, F16 or Q8_0)", typ)
}

// readGGUF parses the header, metadata and tensor table and validates every
// tensor's extent against the file.
func readGGUF(data []byte, name string) (*ggufFile, error) {
	r := &ggufReader{c: cursor{b: data, name: name}}
	if string(r.bytes(4, "magic")) != "GGUF" {
		return nil, fmt.Errorf("%s: not a GGUF file", name)
	}
	g := &ggufFile{kv: map[string]*ggufValue{}, tensors: map[string]*ggufTensor{}}
	g.version = r.u32("version")
	if r.err == nil && g.version != 2 && g.version != 3 {
		return nil, fmt.Errorf("%s: unsupported GGUF version %d (want 2 or 3)", name, g.version)
	}
	nt := r.u64("tensor count")
	nkv := r.u64("metadata count")
	if r.err != nil {
		return nil, r.err
	}
	if nt > maxGGUFTensors || nkv > maxGGUFKV {
		return nil, fmt.Errorf("%s: malformed: %d tensors, %d metadata entries", name, nt, nkv)
	}
	for k := uint64(0); k < nkv && r.err == nil; k++ {
		key := r.str("metadata key")
		typ := r.u32("metadata type of " + key)
		if r.err != nil {
			break
		}
		g.kv[key] = r.value(typ, key)
	}
	order := make([]*ggufTensor, 0, nt)
	for k := uint64(0); k < nt && r.err == nil; k++ {
		t := &ggufTensor{name: r.str("tensor name")}
		nd := r.u32("dims of " + t.name)
		if r.err == nil && (nd == 0 || nd > maxGGUFDims) {
			r.fail("tensor %s has %d dimensions", t.name, nd)
		}
		for d := uint32(0); d < nd && r.err == nil; d++ {
			t.dims = append(t.dims, r.u64("dim of "+t.name))
		}
		t.typ = r.u32("type of " + t.name)
		t.offset = r.u64("offset of " + t.name)
		if r.err != nil {
			break
		}
		if _, dup := g.tensors[t.name]; dup {
			r.fail("tensor %s appears twice", t.name)
		}
		g.tensors[t.name] = t
		order = append(order, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	align := uint64(32)
	if v, ok := g.kv["general.alignment"]; ok {
		if v.typ != ggufU32 || v.u == 0 || v.u&(v.u-1) != 0 || v.u > 1<<16 {
			return nil, fmt.Errorf("%s: malformed: general.alignment", name)
		}
		align = v.u
	}
	base := (uint64(r.c.off) + align - 1) / align * align
	size := uint64(len(data))
	for _, t := range order {
		n := uint64(1)
		for _, d := range t.dims {
			if d == 0 || d > 1<<32 || n > (1<<40)/d {
				return nil, fmt.Errorf("%s: malformed: tensor %s has dimensions %v", name, t.name, t.dims)
			}
			n *= d
		}
		nb, err := ggmlTypeSize(t.typ, n)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %w", name, t.name, err)
		}
		if t.offset%align != 0 || t.offset > size || base > size-t.offset || nb > size-base-t.offset {
			return nil, fmt.Errorf("%s: truncated or malformed: tensor %s (%d bytes at data offset %d) lies outside the file (%d bytes, data at %d)",
				name, t.name, nb, t.offset, size, base)
		}
		t.data = data[base+t.offset : base+t.offset+nb]
	}
	return g, nil
}

func (g *ggufFile) uint(key string, required bool) (int, error) {
	v, ok := g.kv[key]
	if !ok {
		if required {
			return 0, fmt.Errorf("missing metadata %s", key)
		}
		return 0, nil
	}
	switch v.typ {
	case ggufU8, ggufU16, ggufU32, ggufU64, ggufI8, ggufI16, ggufI32, ggufI64:
		if v.i < 0 || v.i > math.MaxInt32 {
			return 0, fmt.Errorf("metadata %s = %d out of range", key, v.i)
		}
		return int(v.i), nil
	}
	return 0, fmt.Errorf("metadata %s is not an integer", key)
}

func (g *ggufFile) float(key string, def float32) (float32, error) {
	v, ok := g.kv[key]
	if !ok {
		return def, nil
	}
	if v.typ != ggufF32 && v.typ != ggufF64 {
		return 0, fmt.Errorf("metadata %s is not a float", key)
	}
	return float32(v.f), nil
}

// parseGGUF builds a Model from a GGUF file.
func parseGGUF(data []byte, name string) (*Model, error) {
	g, err := readGGUF(data, name)
	if err != nil {
		return nil, err
	}
	md, err := g.model()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return md, nil
}

func (g *ggufFile) model() (*Model, error) {
	arch, ok := g.kv["general.architecture"]
	if !ok || arch.typ != ggufString {
		return nil, fmt.Errorf("missing general.architecture")
	}
	if arch.s != "llama" {
		return nil, fmt.Errorf("unsupported architecture %q (only llama)", arch.s)
	}
	var p Params
	var err error
	get := func(dst *int, key string) {
		if err == nil {
			*dst, err = g.uint(key, true)
		}
	}
	get(&p.Dim, "llama.embedding_length")
	get(&p.HiddenDim, "llama.feed_forward_length")
	get(&p.Layers, "llama.block_count")
	get(&p.Heads, "llama.attention.head_count")
	get(&p.SeqLen, "llama.context_length")
	if err != nil {
		return nil, err
	}
	if p.KVHeads, err = g.uint("llama.attention.head_count_kv", false); err != nil {
		return nil, err
	}
	if p.KVHeads == 0 {
		p.KVHeads = p.Heads
	}
	if p.NormEps, err = g.float("llama.attention.layer_norm_rms_epsilon", 1e-5); err != nil {
		return nil, err
	}
	if p.RopeTheta, err = g.float("llama.rope.freq_base", 10000); err != nil {
		return nil, err
	}
	if p.Heads > 0 && p.Dim > 0 {
		if rd, e := g.uint("llama.rope.dimension_count", false); e != nil {
			return nil, e
		} else if rd != 0 && rd != p.Dim/p.Heads {
			return nil, fmt.Errorf("partial RoPE (dimension_count %d, head size %d) is not supported", rd, p.Dim/p.Heads)
		}
	}
	tok, err := g.tokenizer()
	if err != nil {
		return nil, err
	}
	p.VocabSize = tok.VocabSize()
	if _, ok := g.tensors["output.weight"]; !ok {
		p.SharedClassifier = true
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	md := &Model{Params: p, Format: "gguf", Vocab: tok, layers: make([]layerWeights, p.Layers)}
	D, KV, H, V := p.Dim, p.KVDim(), p.HiddenDim, p.VocabSize
	if md.tokEmb, err = g.matrix("token_embd.weight", V, D); err != nil {
		return nil, err
	}
	if md.finalNorm, err = g.vector("output_norm.weight", D); err != nil {
		return nil, err
	}
	if p.SharedClassifier {
		md.cls = md.tokEmb
	} else if md.cls, err = g.matrix("output.weight", V, D); err != nil {
		return nil, err
	}
	for l := range md.layers {
		lw := &md.layers[l]
		pre := fmt.Sprintf("blk.%d.", l)
		for _, m := range []struct {
			dst        *matrix
			name       string
			rows, cols int
		}{
			{&lw.wq, "attn_q", D, D}, {&lw.wk, "attn_k", KV, D}, {&lw.wv, "attn_v", KV, D},
			{&lw.wo, "attn_output", D, D}, {&lw.w1, "ffn_gate", H, D}, {&lw.w2, "ffn_down", D, H},
			{&lw.w3, "ffn_up", H, D},
		} {
			if *m.dst, err = g.matrix(pre+m.name+".weight", m.rows, m.cols); err != nil {
				return nil, err
			}
		}
		if lw.attNorm, err = g.vector(pre+"attn_norm.weight", D); err != nil {
			return nil, err
		}
		if lw.ffnNorm, err = g.vector(pre+"ffn_norm.weight", D); err != nil {
			return nil, err
		}
	}
	// One representation for all layer matrices keeps the kernels simple.
	q := md.layers[0].wq.quantized()
	for l := range md.layers {
		lw := &md.layers[l]
		for _, m := range []*matrix{&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2, &lw.w3} {
			if m.quantized() != q {
				return nil, fmt.Errorf("mixed Q8_0 and float layer tensors are not supported")
			}
		}
	}
	return md, nil
}

func (g *ggufFile) tensor(name string, rows, cols int) (*ggufTensor, error) {
	t, ok := g.tensors[name]
	if !ok {
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	want := []uint64{uint64(cols), uint64(rows)}
	if rows == 1 {
		want = want[:1]
	}
	if len(t.dims) != len(want) || t.dims[0] != want[0] || (len(want) == 2 && t.dims[1] != want[1]) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, t.dims, want)
	}
	return t, nil
}

func (g *ggufFile) vector(name string, n int) ([]float32, error) {
	t, err := g.tensor(name, 1, n)
	if err != nil {
		return nil, err
	}
	m, err := toMatrix(t, 1, n)
	if err != nil {
		return nil, err
	}
	if m.quantized() {
		out := make([]float32, n)
		m.row(0, out)
		return out, nil
	}
	return m.f, nil
}

func (g *ggufFile) matrix(name string, rows, cols int) (matrix, error) {
	t, err := g.tensor(name, rows, cols)
	if err != nil {
		return matrix{}, err
	}
	return toMatrix(t, rows, cols)
}

// toMatrix views an F32 tensor in place, widens F16 and splits Q8_0 blocks
// into int8 values and fp32 scales (group size 32).
func toMatrix(t *ggufTensor, rows, cols int) (matrix, error) {
	n := rows * cols
	m := matrix{rows: rows, cols: cols}
	switch t.typ {
	case ggmlF32:
		m.f = bytesToF32(t.data)
	case ggmlF16:
		m.f = make([]float32, n)
		for i := range m.f {
			m.f[i] = f16ToF32(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
	case ggmlQ8_0:
		if cols%32 != 0 {
			return matrix{}, fmt.Errorf("tensor %s: Q8_0 rows of %d values are not whole blocks", t.name, cols)
		}
		m.gs = 32
		m.q = make([]int8, n)
		m.s = make([]float32, n/32)
		for b := range m.s {
			blk := t.data[34*b : 34*b+34]
			m.s[b] = f16ToF32(binary.LittleEndian.Uint16(blk))
			for i, v := range blk[2:] {
				m.q[32*b+i] = int8(v)
			}
		}
	default:
		return matrix{}, fmt.Errorf("tensor %s: unsupported type %d", t.name, t.typ)
	}
	return m, nil
}

// tokenizer builds the SPM vocabulary stored in the metadata.
func (g *ggufFile) tokenizer() (*Tokenizer, error) {
	if v, ok := g.kv["tokenizer.ggml.model"]; ok && (v.typ != ggufString || v.s != "llama") {
		return nil, fmt.Errorf("unsupported tokenizer model %q (only the llama SPM vocabulary)", v.s)
	}
	tv, ok := g.kv["tokenizer.ggml.tokens"]
	if !ok || tv.typ != ggufArray || tv.u != ggufString {
		return nil, fmt.Errorf("missing tokenizer.ggml.tokens")
	}
	n := len(tv.strs)
	scores := make([]float32, n)
	if sv, ok := g.kv["tokenizer.ggml.scores"]; ok {
		if sv.typ != ggufArray || sv.u != ggufF32 || len(sv.floats) != n {
			return nil, fmt.Errorf("tokenizer.ggml.scores does not match the %d tokens", n)
		}
		copy(scores, sv.floats)
	}
	if tt, ok := g.kv["tokenizer.ggml.token_type"]; ok {
		if tt.typ != ggufArray || len(tt.ints) != n {
			return nil, fmt.Errorf("tokenizer.ggml.token_type does not match the %d tokens", n)
		}
	}
	vocab := make([]string, n)
	for i, s := range tv.strs {
		vocab[i] = strings.ReplaceAll(s, "\u2581", " ")
	}
	bos, eos := 1, 2
	if _, ok := g.kv["tokenizer.ggml.bos_token_id"]; ok {
		b, err := g.uint("tokenizer.ggml.bos_token_id", true)
		if err != nil {
			return nil, err
		}
		bos = b
	}
	if _, ok := g.kv["tokenizer.ggml.eos_token_id"]; ok {
		e, err := g.uint("tokenizer.ggml.eos_token_id", true)
		if err != nil {
			return nil, err
		}
		eos = e
	}
	return newTokenizer(vocab, scores, bos, eos)
}

// f16ToF32 widens an IEEE half-precision value.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise.
	e := uint32(113)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
}
