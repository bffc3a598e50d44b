package local

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// writeGGUF writes w as a GGUF v3 llama model with layer matrices of
// type typ (norms stay F32) and a small SPM vocabulary in the metadata.
func (w *testWeights) writeGGUF(t testing.TB, typ uint32) string {
	return w.writeGGUFMixed(t, typ, typ)
}

// writeGGUFMixed writes the classifier (output.weight) as clsTyp.
func (w *testWeights) writeGGUFMixed(t testing.TB, typ, clsTyp uint32) string {
	t.Helper()
	f, bw, path := createFile(t, "model.gguf")
	bw.Write(ggufBytesMixed(w, typ, clsTyp))
	closeFile(t, f, bw)
	return path
}

type ggufTensorOut struct {
	name string
	dims []uint64
	typ  uint32
	data []byte
}

func ggufBytes(w *testWeights, typ uint32) []byte { return ggufBytesMixed(w, typ, typ) }

func ggufBytesMixed(w *testWeights, typ, clsTyp uint32) []byte {
	p := w.p
	var h bytes.Buffer
	le := binary.LittleEndian
	str := func(s string) { binary.Write(&h, le, uint64(len(s))); h.WriteString(s) }
	kvU32 := func(k string, v uint32) { str(k); binary.Write(&h, le, uint32(ggufU32)); binary.Write(&h, le, v) }
	kvF32 := func(k string, v float32) { str(k); binary.Write(&h, le, uint32(ggufF32)); binary.Write(&h, le, v) }
	kvStr := func(k, v string) { str(k); binary.Write(&h, le, uint32(ggufString)); str(v) }
	vocab := make([]string, p.VocabSize)
	for i := range vocab {
		switch {
		case i < 3:
			vocab[i] = []string{"<unk>", "<s>", "</s>"}[i]
		case i < 3+256:
			vocab[i] = fmt.Sprintf("<0x%02X>", i-3)
		default:
			vocab[i] = fmt.Sprintf("\u2581t%d", i)
		}
	}
	var tensors []ggufTensorOut
	addF32 := func(name string, v []float32) {
		var b bytes.Buffer
		binary.Write(&b, le, v)
		tensors = append(tensors, ggufTensorOut{name, []uint64{uint64(len(v))}, ggmlF32, b.Bytes()})
	}
	addMat := func(name string, v []float32, rows, cols int) {
		typ := typ
		if name == "output.weight" {
			typ = clsTyp
		}
		var b bytes.Buffer
		switch typ {
		case ggmlF32:
			binary.Write(&b, le, v)
		case ggmlF16:
			for _, x := range v {
				binary.Write(&b, le, f32ToF16(x))
			}
		case ggmlQ8_0:
			q, s := quantizeQ8_0GGUF(v)
			for blk := range s {
				binary.Write(&b, le, s[blk])
				binary.Write(&b, le, q[32*blk:32*blk+32])
			}
		}
		tensors = append(tensors, ggufTensorOut{name, []uint64{uint64(cols), uint64(rows)}, typ, b.Bytes()})
	}
	D, KV, H, V := p.Dim, p.KVDim(), p.HiddenDim, p.VocabSize
	addMat("token_embd.weight", w.emb, V, D)
	addF32("output_norm.weight", w.rmsFinal)
	if !p.SharedClassifier {
		addMat("output.weight", w.cls, V, D)
	}
	for l := 0; l < p.Layers; l++ {
		pre := fmt.Sprintf("blk.%d.", l)
		addF32(pre+"attn_norm.weight", w.rmsAtt[l*D:(l+1)*D])
		addF32(pre+"ffn_norm.weight", w.rmsFFN[l*D:(l+1)*D])
		addMat(pre+"attn_q.weight", w.wq[l*D*D:(l+1)*D*D], D, D)
		addMat(pre+"attn_k.weight", w.wk[l*KV*D:(l+1)*KV*D], KV, D)
		addMat(pre+"attn_v.weight", w.wv[l*KV*D:(l+1)*KV*D], KV, D)
		addMat(pre+"attn_output.weight", w.wo[l*D*D:(l+1)*D*D], D, D)
		addMat(pre+"ffn_gate.weight", w.w1[l*H*D:(l+1)*H*D], H, D)
		addMat(pre+"ffn_down.weight", w.w2[l*D*H:(l+1)*D*H], D, H)
		addMat(pre+"ffn_up.weight", w.w3[l*H*D:(l+1)*H*D], H, D)
	}
	h.WriteString("GGUF")
	binary.Write(&h, le, uint32(3))
	binary.Write(&h, le, uint64(len(tensors)))
	binary.Write(&h, le, uint64(15))
	kvStr("general.architecture", "llama")
	kvU32("llama.context_length", uint32(p.SeqLen))
	kvU32("llama.embedding_length", uint32(D))
	kvU32("llama.feed_forward_length", uint32(H))
	kvU32("llama.block_count", uint32(p.Layers))
	kvU32("llama.attention.head_count", uint32(p.Heads))
	kvU32("llama.attention.head_count_kv", uint32(p.KVHeads))
	kvF32("llama.attention.layer_norm_rms_epsilon", p.NormEps)
	kvU32("llama.rope.dimension_count", uint32(p.HeadSize()))
	kvStr("tokenizer.ggml.model", "llama")
	str("tokenizer.ggml.tokens")
	binary.Write(&h, le, uint32(ggufArray))
	binary.Write(&h, le, uint32(ggufString))
	binary.Write(&h, le, uint64(len(vocab)))
	for _, v := range vocab {
		str(v)
	}
	str("tokenizer.ggml.scores")
	binary.Write(&h, le, uint32(ggufArray))
	binary.Write(&h, le, uint32(ggufF32))
	binary.Write(&h, le, uint64(len(vocab)))
	for i := range vocab {
		binary.Write(&h, le, float32(-i))
	}
	str("tokenizer.ggml.token_type")
	binary.Write(&h, le, uint32(ggufArray))
	binary.Write(&h, le, uint32(ggufI32))
	binary.Write(&h, le, uint64(len(vocab)))
	for i := range vocab {
		binary.Write(&h, le, int32(min(i, 1)))
	}
	kvU32("tokenizer.ggml.bos_token_id", 1)
	kvU32("tokenizer.ggml.eos_token_id", 2)
	var off uint64
	for _, tn := range tensors {
		str(tn.name)
		binary.Write(&h, le, uint32(len(tn.dims)))
		binary.Write(&h, le, tn.dims)
		binary.Write(&h, le, tn.typ)
		binary.Write(&h, le, off)
		off += (uint64(len(tn.data)) + 31) / 32 * 32
	}
	for h.Len()%32 != 0 {
		h.WriteByte(0)
	}
	for _, tn := range tensors {
		h.Write(tn.data)
		for h.Len()%32 != 0 {
			h.WriteByte(0)
		}
	}
	return h.Bytes()
}

// f32ToF16 rounds to the nearest half (normal range only; test weights are small).
func f32ToF16(x float32) uint16 {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if exp <= 0 {
		return sign
	}
	h := uint32(exp)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// quantizeQ8_0GGUF quantizes as ggml's Q8_0: blocks of 32, fp16 scale
// amax/127, values round(x/scale).
func quantizeQ8_0GGUF(v []float32) ([]int8, []uint16) {
	q := make([]int8, len(v))
	s := make([]uint16, len(v)/32)
	for blk := range s {
		var amax float64
		for _, x := range v[32*blk : 32*blk+32] {
			amax = max(amax, math.Abs(float64(x)))
		}
		d := amax / 127
		s[blk] = f32ToF16(float32(d))
		inv := 0.0
		if d > 0 {
			inv = 1 / d
		}
		for i, x := range v[32*blk : 32*blk+32] {
			q[32*blk+i] = int8(math.Round(float64(x) * inv))
		}
	}
	return q, s
}

func (w *testWeights) mapMatrices(f func([]float32) []float32) *testWeights {
	d := *w
	d.emb, d.wq, d.wk, d.wv, d.wo = f(w.emb), f(w.wq), f(w.wk), f(w.wv), f(w.wo)
	d.w1, d.w2, d.w3 = f(w.w1), f(w.w2), f(w.w3)
	if w.cls != nil {
		d.cls = f(w.cls)
	}
	return &d
}

func (w *testWeights) roundF16() *testWeights {
	return w.mapMatrices(func(v []float32) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = f16ToF32(f32ToF16(x))
		}
		return out
	})
}

func (w *testWeights) dequantizedQ8_0GGUF() *testWeights {
	return w.mapMatrices(func(v []float32) []float32 {
		q, s := quantizeQ8_0GGUF(v)
		out := make([]float32, len(v))
		for i := range out {
			out[i] = float32(q[i]) * f16ToF32(s[i/32])
		}
		return out
	})
}
