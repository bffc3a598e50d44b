package cuda

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"sync"
)

// FakeDriver is a Driver that runs on the host: device memory is Go
// memory, and Launch executes each kernel of kernels/*.cu with an
// equivalent Go implementation, so the runner's whole path (load, decode,
// poison, rebuild, canary) runs in tests without a GPU. Out-of-bounds
// kernel accesses fail with the sticky CUDA_ERROR_ILLEGAL_ADDRESS, as on a
// device. Faults are injected with the Poison*, FailCreate and
// CorruptCanary hooks.
//
// A FakeDriver is safe for concurrent use; the zero value is not usable,
// use NewFakeDriver.
type FakeDriver struct {
	mu          sync.Mutex
	live        *fakeContext
	created     int
	destroyed   int
	launches    map[string]int
	poisonNext  Result // the next launch fails with this sticky code
	failCreate  int    // the next failCreate CreateContext calls fail
	corruptCana bool   // the canary kernel computes a wrong answer
}

// NewFakeDriver returns a fake driver with one healthy device.
func NewFakeDriver() *FakeDriver {
	return &FakeDriver{launches: map[string]int{}}
}

var _ Driver = (*FakeDriver)(nil)

// Name implements Driver.
func (d *FakeDriver) Name() string { return "fake (host)" }

// PoisonNextLaunch makes the next kernel launch fail with code, which
// must be sticky: the context then fails every call until destroyed.
func (d *FakeDriver) PoisonNextLaunch(code Result) {
	if !code.Sticky() {
		panic(fmt.Sprintf("cuda: PoisonNextLaunch(%v): not a sticky code", code))
	}
	d.mu.Lock()
	d.poisonNext = code
	d.mu.Unlock()
}

// FailCreate makes the next n CreateContext calls fail with
// CUDA_ERROR_INVALID_DEVICE (a device that fell off the bus).
func (d *FakeDriver) FailCreate(n int) {
	d.mu.Lock()
	d.failCreate = n
	d.mu.Unlock()
}

// CorruptCanary makes the canary kernel compute a wrong answer (on) or
// the right one (off), as a device with bad memory would.
func (d *FakeDriver) CorruptCanary(on bool) {
	d.mu.Lock()
	d.corruptCana = on
	d.mu.Unlock()
}

// Contexts returns the contexts created and destroyed so far.
func (d *FakeDriver) Contexts() (created, destroyed int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.created, d.destroyed
}

// Launches returns how many times kernel name was launched successfully.
func (d *FakeDriver) Launches(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.launches[name]
}

// LiveBytes returns the device memory allocated in the live context.
func (d *FakeDriver) LiveBytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live == nil {
		return 0
	}
	var n int64
	for _, a := range d.live.allocs {
		n += int64(4 * len(a.data))
	}
	return n
}

// CreateContext implements Driver.
func (d *FakeDriver) CreateContext(device int) (Context, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failCreate > 0 {
		d.failCreate--
		return nil, &Error{Op: "cuCtxCreate", Code: ErrInvalidDevice}
	}
	if device != 0 {
		return nil, &Error{Op: "cuDeviceGet", Code: ErrInvalidDevice}
	}
	if d.live != nil {
		// One context per device and process here, as the runner uses it.
		return nil, &Error{Op: "cuCtxCreate", Code: ErrInvalidContext}
	}
	d.created++
	c := &fakeContext{d: d, next: 1 << 32}
	d.live = c
	return c, nil
}

// fakeAlloc is one allocation: base address and its float32 cells.
type fakeAlloc struct {
	base DevicePtr
	data []float32
}

type fakeContext struct {
	d         *FakeDriver
	allocs    []*fakeAlloc // sorted by base
	next      DevicePtr
	poisoned  Result
	destroyed bool
}

type fakeModule struct{ entries map[string]bool }

type fakeFunction struct{ name string }

func (f fakeFunction) Name() string { return f.name }

var entryRE = regexp.MustCompile(`\.entry\s+([A-Za-z_][A-Za-z0-9_$]*)`)

func (m *fakeModule) Function(name string) (Function, error) {
	if !m.entries[name] {
		return nil, &Error{Op: "cuModuleGetFunction(" + name + ")", Code: ErrNotFound}
	}
	return fakeFunction{name}, nil
}

// check returns the error every call of a poisoned or destroyed context gets.
func (c *fakeContext) check(op string) error {
	switch {
	case c.destroyed:
		return &Error{Op: op, Code: ErrInvalidContext}
	case c.poisoned != Success:
		return &Error{Op: op, Code: c.poisoned}
	}
	return nil
}

// LoadModule accepts PTX that declares a version, a target and entries
// the fake implements.
func (c *fakeContext) LoadModule(ptx []byte) (Module, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuModuleLoadData"); err != nil {
		return nil, err
	}
	if !bytes.Contains(ptx, []byte(".version")) || !bytes.Contains(ptx, []byte(".target")) {
		return nil, &Error{Op: "cuModuleLoadData", Code: ErrInvalidPTX}
	}
	m := &fakeModule{entries: map[string]bool{}}
	for _, sm := range entryRE.FindAllSubmatch(ptx, -1) {
		name := string(sm[1])
		if _, ok := fakeKernels[name]; !ok {
			return nil, &Error{Op: "cuModuleLoadData(" + name + " has no host implementation)", Code: ErrInvalidPTX}
		}
		m.entries[name] = true
	}
	return m, nil
}

func (c *fakeContext) Alloc(n int64) (DevicePtr, error) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuMemAlloc"); err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, &Error{Op: "cuMemAlloc", Code: ErrInvalidValue}
	}
	if n > 1<<34 {
		return 0, &Error{Op: "cuMemAlloc", Code: ErrOutOfMemory}
	}
	a := &fakeAlloc{base: c.next, data: make([]float32, (n+3)/4)}
	c.next += DevicePtr((n + 255) &^ 255)
	c.next += 256 // a guard gap: running off the end is an illegal address
	c.allocs = append(c.allocs, a)
	return a.base, nil
}

func (c *fakeContext) Free(p DevicePtr) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuMemFree"); err != nil {
		return err
	}
	for i, a := range c.allocs {
		if a.base == p {
			c.allocs = append(c.allocs[:i], c.allocs[i+1:]...)
			return nil
		}
	}
	return &Error{Op: "cuMemFree", Code: ErrInvalidValue}
}

// span resolves n float32 cells at p; ok is false when they are not all
// inside one allocation or p is misaligned.
func (c *fakeContext) span(p DevicePtr, n int) ([]float32, Result) {
	if p%4 != 0 {
		return nil, ErrMisalignedAddress
	}
	i := sort.Search(len(c.allocs), func(i int) bool { return c.allocs[i].base > p }) - 1
	if i < 0 || n < 0 {
		return nil, ErrIllegalAddress
	}
	a := c.allocs[i]
	off := int(p-a.base) / 4
	if off+n > len(a.data) {
		return nil, ErrIllegalAddress
	}
	return a.data[off : off+n : off+n], Success
}

func (c *fakeContext) CopyHtoD(dst DevicePtr, src []float32) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuMemcpyHtoD"); err != nil {
		return err
	}
	d, r := c.span(dst, len(src))
	if r != Success {
		return &Error{Op: "cuMemcpyHtoD", Code: ErrInvalidValue}
	}
	copy(d, src)
	return nil
}

func (c *fakeContext) CopyDtoH(dst []float32, src DevicePtr) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuMemcpyDtoH"); err != nil {
		return err
	}
	s, r := c.span(src, len(dst))
	if r != Success {
		return &Error{Op: "cuMemcpyDtoH", Code: ErrInvalidValue}
	}
	copy(dst, s)
	return nil
}

func (c *fakeContext) CopyDtoD(dst, src DevicePtr, n int) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if err := c.check("cuMemcpyDtoD"); err != nil {
		return err
	}
	s, r1 := c.span(src, n)
	d, r2 := c.span(dst, n)
	if r1 != Success || r2 != Success {
		return &Error{Op: "cuMemcpyDtoD", Code: ErrInvalidValue}
	}
	copy(d, s)
	return nil
}

// Launch runs the kernel synchronously. A kernel fault poisons the context
// and is reported by this launch (a device reports it at the next
// synchronizing call; the runner handles both).
func (c *fakeContext) Launch(fn Function, grid, block Dim3, shared int, args ...any) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	name := fn.Name()
	op := "cuLaunchKernel(" + name + ")"
	if err := c.check(op); err != nil {
		return err
	}
	k, ok := fakeKernels[name]
	if !ok {
		return &Error{Op: op, Code: ErrInvalidHandle}
	}
	threads := max(block.X, 1) * max(block.Y, 1) * max(block.Z, 1)
	if threads > 1024 || shared < 0 || shared > 48<<10 || grid.X < 0 || block.X < 0 {
		return &Error{Op: op, Code: ErrInvalidValue}
	}
	if len(args) != len(k.params) {
		return &Error{Op: op, Code: ErrInvalidValue}
	}
	for i, a := range args {
		switch a.(type) {
		case DevicePtr:
			if k.params[i] != 'p' {
				return &Error{Op: op, Code: ErrInvalidValue}
			}
		case int32:
			if k.params[i] != 'i' {
				return &Error{Op: op, Code: ErrInvalidValue}
			}
		case float32:
			if k.params[i] != 'f' {
				return &Error{Op: op, Code: ErrInvalidValue}
			}
		default:
			return &Error{Op: op, Code: ErrInvalidValue}
		}
	}
	if code := c.d.poisonNext; code != Success {
		c.d.poisonNext = Success
		c.poisoned = code
		return &Error{Op: op, Code: code}
	}
	kc := &kernelCall{c: c, args: args, corrupt: c.d.corruptCana}
	k.run(kc)
	if kc.fault != Success {
		c.poisoned = kc.fault
		return &Error{Op: op, Code: kc.fault}
	}
	c.d.launches[name]++
	return nil
}

func (c *fakeContext) Synchronize() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	return c.check("cuCtxSynchronize")
}

func (c *fakeContext) Destroy() error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if c.destroyed {
		return &Error{Op: "cuCtxDestroy", Code: ErrInvalidContext}
	}
	c.destroyed = true
	c.allocs = nil
	c.d.destroyed++
	if c.d.live == c {
		c.d.live = nil
	}
	return nil
}

// kernelCall is one launch's arguments as the Go kernels read them.
type kernelCall struct {
	c       *fakeContext
	args    []any
	fault   Result
	corrupt bool
}

func (k *kernelCall) ptr(i, n int) []float32 {
	if k.fault != Success {
		return make([]float32, max(n, 0))
	}
	s, r := k.c.span(k.args[i].(DevicePtr), n)
	if r != Success {
		k.fault = r
		return make([]float32, max(n, 0))
	}
	return s
}

func (k *kernelCall) int(i int) int          { return int(k.args[i].(int32)) }
func (k *kernelCall) f32(i int) float32      { return k.args[i].(float32) }
func (k *kernelCall) trap()                  { k.fault = ErrLaunchFailed }
func (k *kernelCall) ok() bool               { return k.fault == Success }
func (k *kernelCall) bad(cond bool) bool     { return cond && k.setFault(ErrIllegalAddress) }
func (k *kernelCall) setFault(r Result) bool { k.fault = r; return true }

// fakeKernel is a Go implementation of one kernel: params spells its
// parameter types ('p' pointer, 'i' int32, 'f' float32), as in kernels/*.cu.
type fakeKernel struct {
	params string
	run    func(*kernelCall)
}

// fakeKernels mirror kernels/*.cu, parameter for parameter. They compute
// in float32 as runners/local does (its exp and sqrt in float64, then
// rounded); dot products sum sequentially where runners/local uses eight
// accumulators, so logits agree to rounding and greedy tokens agree (the
// tests compare them).
var fakeKernels = map[string]fakeKernel{
	// matvec(out, w, x, rows, cols): out[r] = Σ_c w[r·cols+c]·x[c].
	"matvec": {"pppii", func(k *kernelCall) {
		rows, cols := k.int(3), k.int(4)
		if k.bad(rows < 0 || cols < 0) {
			return
		}
		out, w, x := k.ptr(0, rows), k.ptr(1, rows*cols), k.ptr(2, cols)
		if !k.ok() {
			return
		}
		for r := 0; r < rows; r++ {
			out[r] = dot(w[r*cols:(r+1)*cols], x)
		}
	}},
	// rmsnorm(out, x, w, n, eps): out = w · x / sqrt(mean(x²) + eps).
	"rmsnorm": {"pppif", func(k *kernelCall) {
		n, eps := k.int(3), k.f32(4)
		out, x, w := k.ptr(0, n), k.ptr(1, n), k.ptr(2, n)
		if !k.ok() {
			return
		}
		var ss float32
		for _, v := range x {
			ss += v * v
		}
		ss /= float32(n)
		ss += eps
		ss = 1 / float32(math.Sqrt(float64(ss)))
		for j := range out {
			out[j] = w[j] * (ss * x[j])
		}
	}},
	// rope(v, cos, sin, n, headSize): rotate each head's pairs by the
	// position's angles (cos, sin: headSize/2 values).
	"rope": {"pppii", func(k *kernelCall) {
		n, hs := k.int(3), k.int(4)
		if k.bad(hs <= 0 || hs%2 != 0 || n%hs != 0) {
			return
		}
		v, cs, sn := k.ptr(0, n), k.ptr(1, hs/2), k.ptr(2, hs/2)
		if !k.ok() {
			return
		}
		for h := 0; h < n; h += hs {
			for i := 0; i < hs/2; i++ {
				a, b := v[h+2*i], v[h+2*i+1]
				v[h+2*i] = a*cs[i] - b*sn[i]
				v[h+2*i+1] = a*sn[i] + b*cs[i]
			}
		}
	}},
	// attn_scores(att, q, k, heads, pos, headSize, kvDim, kvMul, stride, scale):
	// att[h·stride+t] = q_h · k[t][h/kvMul] / scale for t ≤ pos.
	"attn_scores": {"pppiiiiiif", func(k *kernelCall) {
		heads, pos, hs, kvDim, kvMul, stride, scale := k.int(3), k.int(4), k.int(5), k.int(6), k.int(7), k.int(8), k.f32(9)
		if k.bad(heads <= 0 || pos < 0 || pos >= stride || kvMul <= 0) {
			return
		}
		att, q, kc := k.ptr(0, heads*stride), k.ptr(1, heads*hs), k.ptr(2, (pos+1)*kvDim)
		if !k.ok() {
			return
		}
		for h := 0; h < heads; h++ {
			kvo := (h / kvMul) * hs
			for t := 0; t <= pos; t++ {
				at := t*kvDim + kvo
				att[h*stride+t] = dot(q[h*hs:(h+1)*hs], kc[at:at+hs]) / scale
			}
		}
	}},
	// softmax(x, rows, n, stride): normalise the first n values of each row.
	"softmax": {"piii", func(k *kernelCall) {
		rows, n, stride := k.int(1), k.int(2), k.int(3)
		if k.bad(rows <= 0 || n <= 0 || n > stride) {
			return
		}
		x := k.ptr(0, rows*stride)
		if !k.ok() {
			return
		}
		for r := 0; r < rows; r++ {
			softmax(x[r*stride : r*stride+n])
		}
	}},
	// attn_values(out, att, v, heads, pos, headSize, kvDim, kvMul, stride):
	// out_h = Σ_t att[h·stride+t] · v[t][h/kvMul].
	"attn_values": {"pppiiiiii", func(k *kernelCall) {
		heads, pos, hs, kvDim, kvMul, stride := k.int(3), k.int(4), k.int(5), k.int(6), k.int(7), k.int(8)
		if k.bad(heads <= 0 || pos < 0 || pos >= stride || kvMul <= 0) {
			return
		}
		out, att, vc := k.ptr(0, heads*hs), k.ptr(1, heads*stride), k.ptr(2, (pos+1)*kvDim)
		if !k.ok() {
			return
		}
		for h := 0; h < heads; h++ {
			o := out[h*hs : (h+1)*hs]
			clear(o)
			kvo := (h / kvMul) * hs
			for t := 0; t <= pos; t++ {
				a := att[h*stride+t]
				at := t*kvDim + kvo
				for i, v := range vc[at : at+hs] {
					o[i] += a * v
				}
			}
		}
	}},
	// swiglu(hb, hb2, n): hb = silu(hb) · hb2.
	"swiglu": {"ppi", func(k *kernelCall) {
		n := k.int(2)
		hb, hb2 := k.ptr(0, n), k.ptr(1, n)
		if !k.ok() {
			return
		}
		for i, v := range hb {
			v *= 1 / (1 + float32(math.Exp(float64(-v))))
			hb[i] = v * hb2[i]
		}
	}},
	// add(x, y, n): x += y.
	"add": {"ppi", func(k *kernelCall) {
		n := k.int(2)
		x, y := k.ptr(0, n), k.ptr(1, n)
		if !k.ok() {
			return
		}
		for i := range x {
			x[i] += y[i]
		}
	}},
	// canary(out, in, n): out = 2·in + 1.
	"canary": {"ppi", func(k *kernelCall) {
		n := k.int(2)
		out, in := k.ptr(0, n), k.ptr(1, n)
		if !k.ok() {
			return
		}
		for i := range out {
			out[i] = 2*in[i] + 1
			if k.corrupt {
				out[i] = -out[i]
			}
		}
	}},
	// trap(): the device traps; the context is lost.
	"trap": {"", func(k *kernelCall) { k.trap() }},
}

// dot is a sequential float32 dot product.
func dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// softmax normalises x in place, as runners/local does.
func softmax(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += e
	}
	for i := range x {
		x[i] /= sum
	}
}
