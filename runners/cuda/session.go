package cuda

import (
	"embed"
	"fmt"
	"math"

	"github.com/actorinfer/actorinfer/runners/local"
)

// PTX is kernels/*.cu compiled by scripts/gen-ptx.sh.
//
//go:embed kernels/*.ptx
var ptxFS embed.FS

// PTX returns the kernels' PTX for an architecture ("sm_80", "sm_90").
func PTX(arch string) ([]byte, error) {
	b, err := ptxFS.ReadFile("kernels/kernels_" + arch + ".ptx")
	if err != nil {
		return nil, fmt.Errorf("cuda: no PTX for %s: %w", arch, err)
	}
	return b, nil
}

// ptxArchs are the architectures with committed PTX, newest first.
var ptxArchs = []struct{ major, minor int }{{9, 0}, {8, 0}}

// PTXForDevice returns the PTX of the newest architecture not newer than
// compute capability major.minor (the driver JIT-compiles it for the
// device) and its name.
func PTXForDevice(major, minor int) ([]byte, string, error) {
	for _, a := range ptxArchs {
		if major > a.major || (major == a.major && minor >= a.minor) {
			arch := fmt.Sprintf("sm_%d%d", a.major, a.minor)
			if b, err := PTX(arch); err == nil {
				return b, arch, nil
			}
		}
	}
	return nil, "", fmt.Errorf("cuda: no PTX for compute capability %d.%d (the kernels need sm_80 or newer)", major, minor)
}

// kernelNames are the entries every module must provide.
var kernelNames = []string{"matvec", "rmsnorm", "rope", "attn_scores", "softmax", "attn_values", "swiglu", "add", "canary", "trap"}

// hostModel is a loaded checkpoint and tokenizer on the host, kept to
// (re)upload the weights. Immutable; shared with Execute callers.
type hostModel struct {
	model  *local.Model
	tok    *local.Tokenizer
	t      local.Tensors
	p      local.Params
	ctxLen int
	name   string
}

type layerPtrs struct {
	attNorm, ffnNorm, wq, wk, wv, wo, w1, w2, w3 DevicePtr
}

// session is one CUDA context with the module, the weights and the
// activations on the device. It is used only by the runner's owner
// goroutine.
type session struct {
	c      Context
	fn     map[string]Function
	hm     *hostModel
	allocs []DevicePtr

	emb, finalNorm, cls     DevicePtr
	layers                  []layerPtrs
	x, xb, xb2, q, hb, hb2  DevicePtr
	att, logits, cosT, sinT DevicePtr
	canaryIn, canaryOut     DevicePtr
	hostLogits              []float32
	attScale                float32
}

const canaryN = 256

// openSession creates a context on device, loads the module, uploads the
// model and runs the canary. On error everything created is destroyed.
func openSession(drv Driver, device int, ptx []byte, hm *hostModel) (_ *session, err error) {
	c, err := drv.CreateContext(device)
	if err != nil {
		return nil, err
	}
	s := &session{c: c, hm: hm, fn: map[string]Function{}}
	defer func() {
		if err != nil {
			s.destroy()
		}
	}()
	mod, err := c.LoadModule(ptx)
	if err != nil {
		return nil, err
	}
	for _, n := range kernelNames {
		f, err := mod.Function(n)
		if err != nil {
			return nil, err
		}
		s.fn[n] = f
	}
	if err := s.upload(); err != nil {
		return nil, err
	}
	if err := s.canary(); err != nil {
		return nil, err
	}
	return s, nil
}

// destroy destroys the context (its memory goes with it). Errors are
// ignored: a poisoned context is destroyed all the same.
func (s *session) destroy() {
	if s != nil && s.c != nil {
		s.c.Destroy()
		s.c = nil
	}
}

func (s *session) alloc(n int) (DevicePtr, error) {
	p, err := s.c.Alloc(4 * int64(max(n, 1)))
	if err != nil {
		return 0, err
	}
	s.allocs = append(s.allocs, p)
	return p, nil
}

func (s *session) put(v []float32) (DevicePtr, error) {
	p, err := s.alloc(len(v))
	if err != nil {
		return 0, err
	}
	return p, s.c.CopyHtoD(p, v)
}

// upload copies the weights and the RoPE tables and allocates the
// activations.
func (s *session) upload() error {
	hm, p := s.hm, s.hm.p
	t := &hm.t
	var err error
	put := func(dst *DevicePtr, v []float32) {
		if err == nil {
			*dst, err = s.put(v)
		}
	}
	buf := func(dst *DevicePtr, n int) {
		if err == nil {
			*dst, err = s.alloc(n)
		}
	}
	put(&s.emb, t.TokenEmbedding)
	put(&s.finalNorm, t.FinalNorm)
	if len(t.Classifier) > 0 && len(t.TokenEmbedding) > 0 && &t.Classifier[0] == &t.TokenEmbedding[0] {
		s.cls = s.emb
	} else {
		put(&s.cls, t.Classifier)
	}
	s.layers = make([]layerPtrs, len(t.Layers))
	for i := range t.Layers {
		l, d := &t.Layers[i], &s.layers[i]
		put(&d.attNorm, l.AttNorm)
		put(&d.ffnNorm, l.FFNNorm)
		put(&d.wq, l.WQ)
		put(&d.wk, l.WK)
		put(&d.wv, l.WV)
		put(&d.wo, l.WO)
		put(&d.w1, l.W1)
		put(&d.w2, l.W2)
		put(&d.w3, l.W3)
	}
	D, H := p.Dim, p.HiddenDim
	for _, b := range []*DevicePtr{&s.x, &s.xb, &s.xb2, &s.q} {
		buf(b, D)
	}
	buf(&s.hb, H)
	buf(&s.hb2, H)
	buf(&s.att, p.Heads*hm.ctxLen)
	buf(&s.logits, p.VocabSize)
	buf(&s.canaryIn, canaryN)
	buf(&s.canaryOut, canaryN)
	// RoPE angles as runners/local computes them (float64, then float32).
	hs := p.HeadSize()
	cs, sn := make([]float32, hm.ctxLen*hs/2), make([]float32, hm.ctxLen*hs/2)
	for pos := 0; pos < hm.ctxLen; pos++ {
		for i := 0; i < hs/2; i++ {
			freq := 1 / math.Pow(float64(p.RopeTheta), float64(2*i)/float64(hs))
			v := float64(pos) * freq
			cs[pos*hs/2+i] = float32(math.Cos(v))
			sn[pos*hs/2+i] = float32(math.Sin(v))
		}
	}
	put(&s.cosT, cs)
	put(&s.sinT, sn)
	s.hostLogits = make([]float32, p.VocabSize)
	s.attScale = float32(math.Sqrt(float64(hs)))
	return err
}

// canary runs the canary kernel on known input and checks the answer.
func (s *session) canary() error {
	in := make([]float32, canaryN)
	for i := range in {
		in[i] = float32(i) - 100
	}
	if err := s.c.CopyHtoD(s.canaryIn, in); err != nil {
		return err
	}
	if err := s.launch("canary", blocks(canaryN, 256), 256, s.canaryOut, s.canaryIn, int32(canaryN)); err != nil {
		return err
	}
	out := make([]float32, canaryN)
	if err := s.c.CopyDtoH(out, s.canaryOut); err != nil {
		return err
	}
	if err := s.c.Synchronize(); err != nil {
		return err
	}
	for i, v := range out {
		if want := 2*in[i] + 1; v != want {
			return &CanaryError{Index: i, Got: v, Want: want}
		}
	}
	return nil
}

// CanaryError reports a canary kernel that computed a wrong answer: the
// device or its memory is not trustworthy.
type CanaryError struct {
	Index     int
	Got, Want float32
}

func (e *CanaryError) Error() string {
	return fmt.Sprintf("cuda: canary kernel: out[%d] = %g, want %g", e.Index, e.Got, e.Want)
}

// trap launches the trap kernel: the context is lost (a test hook).
func (s *session) trap() error {
	if err := s.launch("trap", 1, 1); err != nil {
		return err
	}
	return s.c.Synchronize()
}

func blocks(n, per int) int { return (n + per - 1) / per }

func (s *session) launch(name string, grid, block int, args ...any) error {
	return s.c.Launch(s.fn[name], Dim3{X: grid}, Dim3{X: block}, 0, args...)
}

// kvCache is one sequence's keys and values on the device:
// [layer][pos][kvDim] each.
type kvCache struct{ k, v DevicePtr }

func (s *session) newCache() (kvCache, error) {
	p := s.hm.p
	n := int64(4 * p.Layers * s.hm.ctxLen * p.KVDim())
	k, err := s.c.Alloc(n)
	if err != nil {
		return kvCache{}, err
	}
	v, err := s.c.Alloc(n)
	if err != nil {
		s.c.Free(k)
		return kvCache{}, err
	}
	return kvCache{k, v}, nil
}

func (s *session) freeCache(c kvCache) {
	if c.k != 0 {
		s.c.Free(c.k)
		s.c.Free(c.v)
	}
}

// forward runs the model on token at pos with cache c; with want it
// leaves the next-token logits in s.hostLogits.
func (s *session) forward(token, pos int, c kvCache, want bool) error {
	p := s.hm.p
	D, KV, H, hs, V := p.Dim, p.KVDim(), p.HiddenDim, p.HeadSize(), p.VocabSize
	ctx := s.hm.ctxLen
	heads, kvMul := p.Heads, p.Heads/p.KVHeads
	eps := p.NormEps
	i32 := func(v int) int32 { return int32(v) }
	f4 := func(n int) DevicePtr { return DevicePtr(4 * n) }
	var err error
	launch := func(name string, grid, block int, args ...any) {
		if err == nil {
			err = s.launch(name, grid, block, args...)
		}
	}
	matvec := func(out, w, x DevicePtr, rows, cols int) {
		launch("matvec", blocks(rows, 8), 256, out, w, x, i32(rows), i32(cols))
	}
	if err := s.c.CopyDtoD(s.x, s.emb+f4(token*D), D); err != nil {
		return err
	}
	cosP, sinP := s.cosT+f4(pos*hs/2), s.sinT+f4(pos*hs/2)
	for l := range s.layers {
		w := &s.layers[l]
		loff := l * ctx * KV
		kAt, vAt := c.k+f4(loff+pos*KV), c.v+f4(loff+pos*KV)
		launch("rmsnorm", 1, 256, s.xb, s.x, w.attNorm, i32(D), eps)
		matvec(s.q, w.wq, s.xb, D, D)
		matvec(kAt, w.wk, s.xb, KV, D)
		matvec(vAt, w.wv, s.xb, KV, D)
		launch("rope", blocks(D/2, 256), 256, s.q, cosP, sinP, i32(D), i32(hs))
		launch("rope", blocks(KV/2, 256), 256, kAt, cosP, sinP, i32(KV), i32(hs))
		launch("attn_scores", heads, 256, s.att, s.q, c.k+f4(loff), i32(heads), i32(pos), i32(hs), i32(KV), i32(kvMul), i32(ctx), s.attScale)
		launch("softmax", heads, 256, s.att, i32(heads), i32(pos+1), i32(ctx))
		launch("attn_values", heads, 64, s.xb, s.att, c.v+f4(loff), i32(heads), i32(pos), i32(hs), i32(KV), i32(kvMul), i32(ctx))
		matvec(s.xb2, w.wo, s.xb, D, D)
		launch("add", blocks(D, 256), 256, s.x, s.xb2, i32(D))
		launch("rmsnorm", 1, 256, s.xb, s.x, w.ffnNorm, i32(D), eps)
		matvec(s.hb, w.w1, s.xb, H, D)
		matvec(s.hb2, w.w3, s.xb, H, D)
		launch("swiglu", blocks(H, 256), 256, s.hb, s.hb2, i32(H))
		matvec(s.xb, w.w2, s.hb, D, H)
		launch("add", blocks(D, 256), 256, s.x, s.xb, i32(D))
	}
	if err != nil || !want {
		return err
	}
	launch("rmsnorm", 1, 256, s.xb, s.x, s.finalNorm, i32(D), eps)
	matvec(s.logits, s.cls, s.xb, V, D)
	if err != nil {
		return err
	}
	return s.c.CopyDtoH(s.hostLogits, s.logits)
}
