package local

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Shapes of the published llama2.c stories models (karpathy/tinyllamas).
var (
	shape15M  = Params{Dim: 288, HiddenDim: 768, Layers: 6, Heads: 6, KVHeads: 6, VocabSize: 32000, SeqLen: 256}
	shape42M  = Params{Dim: 512, HiddenDim: 1376, Layers: 8, Heads: 8, KVHeads: 8, VocabSize: 32000, SeqLen: 1024}
	shape110M = Params{Dim: 768, HiddenDim: 2048, Layers: 12, Heads: 12, KVHeads: 12, VocabSize: 32000, SeqLen: 1024}
)

// testWeights are random weights in run.c's tensor layout (all layers of a
// kind concatenated), kept to compute the float64 reference.
type testWeights struct {
	p                                 Params
	emb, rmsAtt, wq, wk, wv, wo       []float32
	rmsFFN, w1, w2, w3, rmsFinal, cls []float32
}

// randomWeights draws weights with a fixed seed, scaled so activations stay
// O(1) through the layers (uniform ±1/sqrt(fan-in); norms near 1).
func randomWeights(p Params, seed uint64) *testWeights {
	if p.NormEps == 0 {
		p.NormEps, p.RopeTheta = 1e-5, 10000
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5DEECE66D))
	u := func(n int, a float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32((2*r.Float64() - 1) * a)
		}
		return s
	}
	norm := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(1 + 0.2*(2*r.Float64()-1))
		}
		return s
	}
	L, D, KV, H, V := p.Layers, p.Dim, p.KVDim(), p.HiddenDim, p.VocabSize
	id, ih := 1/math.Sqrt(float64(D)), 1/math.Sqrt(float64(H))
	w := &testWeights{p: p}
	w.emb = u(V*D, 1)
	w.rmsAtt = norm(L * D)
	w.wq, w.wk, w.wv, w.wo = u(L*D*D, id*2), u(L*KV*D, id*2), u(L*KV*D, id), u(L*D*D, id)
	w.rmsFFN = norm(L * D)
	w.w1, w.w2, w.w3 = u(L*H*D, id), u(L*D*H, ih), u(L*H*D, id)
	w.rmsFinal = norm(D)
	if !p.SharedClassifier {
		w.cls = u(V*D, id*4)
	}
	return w
}

func (w *testWeights) classifier() []float32 {
	if w.p.SharedClassifier {
		return w.emb
	}
	return w.cls
}

func writeF32s(bw io.Writer, s []float32) {
	binary.Write(bw, binary.LittleEndian, s)
}

func createFile(t testing.TB, name string) (*os.File, *bufio.Writer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f, bufio.NewWriterSize(f, 1<<20), path
}

func closeFile(t testing.TB, f *os.File, bw *bufio.Writer) {
	t.Helper()
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeV0 writes w as a legacy llama2.c checkpoint and returns its path.
func (w *testWeights) writeV0(t testing.TB) string {
	t.Helper()
	f, bw, path := createFile(t, "model-v0.bin")
	p := w.p
	vocab := int32(p.VocabSize)
	if !p.SharedClassifier {
		vocab = -vocab
	}
	binary.Write(bw, binary.LittleEndian, []int32{int32(p.Dim), int32(p.HiddenDim), int32(p.Layers), int32(p.Heads), int32(p.KVHeads), vocab, int32(p.SeqLen)})
	for _, s := range [][]float32{w.emb, w.rmsAtt, w.wq, w.wk, w.wv, w.wo, w.rmsFFN, w.w1, w.w2, w.w3, w.rmsFinal} {
		writeF32s(bw, s)
	}
	writeF32s(bw, make([]float32, p.SeqLen*p.HeadSize())) // freq_cis_real, freq_cis_imag
	if !p.SharedClassifier {
		writeF32s(bw, w.cls)
	}
	closeFile(t, f, bw)
	return path
}

// writeV12 writes w in llama2.c export.py's version 1 (fp32) or version 2
// (Q8_0, group size gs) format.
func (w *testWeights) writeV12(t testing.TB, version, gs int) string {
	t.Helper()
	f, bw, path := createFile(t, "model-v"+string(rune('0'+version))+".bin")
	p := w.p
	hdr := make([]byte, 256)
	binary.LittleEndian.PutUint32(hdr, llama2cMagic)
	binary.LittleEndian.PutUint32(hdr[4:], uint32(version))
	for i, v := range []int{p.Dim, p.HiddenDim, p.Layers, p.Heads, p.KVHeads, p.VocabSize, p.SeqLen} {
		binary.LittleEndian.PutUint32(hdr[8+4*i:], uint32(v))
	}
	if p.SharedClassifier {
		hdr[36] = 1
	}
	if version == 2 {
		binary.LittleEndian.PutUint32(hdr[37:], uint32(gs))
	}
	bw.Write(hdr)
	writeF32s(bw, w.rmsAtt)
	writeF32s(bw, w.rmsFFN)
	writeF32s(bw, w.rmsFinal)
	// export.py writes one tensor per layer (values then scales each).
	mats := [][]float32{w.emb}
	for _, all := range [][]float32{w.wq, w.wk, w.wv, w.wo, w.w1, w.w2, w.w3} {
		n := len(all) / p.Layers
		for l := 0; l < p.Layers; l++ {
			mats = append(mats, all[l*n:(l+1)*n])
		}
	}
	if !p.SharedClassifier {
		mats = append(mats, w.cls)
	}
	for _, m := range mats {
		if version == 1 {
			writeF32s(bw, m)
			continue
		}
		q, s := quantizeTest(m, gs)
		binary.Write(bw, binary.LittleEndian, q)
		writeF32s(bw, s)
	}
	closeFile(t, f, bw)
	return path
}

// quantizeTest is export.py's quantize_q80: per group scale max|w|/127,
// values round(w/scale).
func quantizeTest(w []float32, gs int) ([]int8, []float32) {
	q := make([]int8, len(w))
	s := make([]float32, len(w)/gs)
	for g := range s {
		var m float64
		for _, v := range w[g*gs : (g+1)*gs] {
			m = max(m, math.Abs(float64(v)))
		}
		scale := m / 127
		s[g] = float32(scale)
		for i, v := range w[g*gs : (g+1)*gs] {
			if scale > 0 {
				q[g*gs+i] = int8(math.Round(float64(v) / scale))
			}
		}
	}
	return q, s
}

// dequantized returns a copy of w with every matrix replaced by its Q8_0
// round trip (the weights a v2 checkpoint really holds).
func (w *testWeights) dequantized(gs int) *testWeights {
	d := *w
	rt := func(m []float32) []float32 {
		if m == nil {
			return nil
		}
		q, s := quantizeTest(m, gs)
		out := make([]float32, len(m))
		for i := range out {
			out[i] = float32(q[i]) * s[i/gs]
		}
		return out
	}
	d.emb, d.wq, d.wk, d.wv, d.wo = rt(w.emb), rt(w.wq), rt(w.wk), rt(w.wv), rt(w.wo)
	d.w1, d.w2, d.w3, d.cls = rt(w.w1), rt(w.w2), rt(w.w3), rt(w.cls)
	return &d
}

// refForward is an independent float64 reference of the llama2.c forward
// pass: it returns the logits after each token of toks (positions 0..).
func refForward(w *testWeights, toks []int) [][]float64 {
	p := w.p
	D, KV, H, V, hs := p.Dim, p.KVDim(), p.HiddenDim, p.VocabSize, p.HeadSize()
	group := p.Heads / p.KVHeads
	mat := func(m []float32, off, rows, cols int, x []float64) []float64 {
		out := make([]float64, rows)
		for r := range out {
			var s float64
			row := m[off+r*cols : off+(r+1)*cols]
			for c, v := range row {
				s += float64(v) * x[c]
			}
			out[r] = s
		}
		return out
	}
	norm := func(x []float64, wt []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+float64(p.NormEps))
		out := make([]float64, len(x))
		for i := range x {
			out[i] = float64(wt[i]) * x[i] * inv
		}
		return out
	}
	rope := func(x []float64, pos int) {
		for i := 0; i < len(x); i += 2 {
			j := i % hs
			th := float64(pos) / math.Pow(float64(p.RopeTheta), float64(j)/float64(hs))
			c, s := math.Cos(th), math.Sin(th)
			x[i], x[i+1] = x[i]*c-x[i+1]*s, x[i]*s+x[i+1]*c
		}
	}
	keys := make([][][]float64, p.Layers)
	vals := make([][][]float64, p.Layers)
	var out [][]float64
	for pos, tk := range toks {
		x := make([]float64, D)
		for i := range x {
			x[i] = float64(w.emb[tk*D+i])
		}
		for l := 0; l < p.Layers; l++ {
			xn := norm(x, w.rmsAtt[l*D:])
			q := mat(w.wq, l*D*D, D, D, xn)
			k := mat(w.wk, l*KV*D, KV, D, xn)
			v := mat(w.wv, l*KV*D, KV, D, xn)
			rope(q, pos)
			rope(k, pos)
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, D)
			for h := 0; h < p.Heads; h++ {
				ko := (h / group) * hs
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for t := range sc {
					var s float64
					for i := 0; i < hs; i++ {
						s += q[h*hs+i] * keys[l][t][ko+i]
					}
					sc[t] = s / math.Sqrt(float64(hs))
					mx = max(mx, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - mx)
					sum += sc[t]
				}
				for t := range sc {
					for i := 0; i < hs; i++ {
						att[h*hs+i] += sc[t] / sum * vals[l][t][ko+i]
					}
				}
			}
			o := mat(w.wo, l*D*D, D, D, att)
			for i := range x {
				x[i] += o[i]
			}
			xn = norm(x, w.rmsFFN[l*D:])
			a := mat(w.w1, l*H*D, H, D, xn)
			b := mat(w.w3, l*H*D, H, D, xn)
			for i := range a {
				a[i] = a[i] / (1 + math.Exp(-a[i])) * b[i]
			}
			f := mat(w.w2, l*D*H, D, H, a)
			for i := range x {
				x[i] += f[i]
			}
		}
		out = append(out, mat(w.classifier(), 0, V, D, norm(x, w.rmsFinal)))
	}
	return out
}

// relErr is ||got - want||₂ / ||want||₂.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / den)
}
