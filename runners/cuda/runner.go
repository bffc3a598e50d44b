package cuda

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/local"
)

// Runner is the GPU runner: a llama-family model whose forward pass runs
// as CUDA kernels in one context. It implements runners.ModelRunner and
// runners.Healther and is safe for concurrent use.
//
// One owner goroutine, locked to its OS thread for its whole life, owns
// the context and makes every driver call; Execute, LoadWeights,
// RebuildSession, Healthy and Close hand it work over a channel. It
// decodes the active requests in turns of one token each.
type Runner struct {
	runners.Defaults
	drv Driver
	cfg Config
	ptx []byte

	ops  chan func(*owner)
	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	hm       atomic.Pointer[hostModel]
	broken   atomic.Pointer[runners.SessionFault] // set while the context is lost
	inFlight atomic.Int64
	closeMu  sync.Mutex
	closed   bool

	trapNext atomic.Bool // test hook: the next step launches the trap kernel
	stall    atomic.Pointer[stallGate]
}

// stallGate holds sequences after a number of chunks until released.
type stallGate struct {
	after   uint32
	release chan struct{}
}

var (
	_ runners.ModelRunner = (*Runner)(nil)
	_ runners.Healther    = (*Runner)(nil)
)

// New validates cfg, loads the checkpoint and tokenizer, creates a
// context on cfg.Device with drv, uploads the weights and runs the canary.
// ptx is the kernels module (PTX for the device's architecture).
func New(drv Driver, ptx []byte, cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hm, err := loadHost(cfg, cfg.ModelPath, cfg.TokenizerPath)
	if err != nil {
		return nil, err
	}
	r := &Runner{
		drv: drv, cfg: cfg, ptx: ptx,
		ops: make(chan func(*owner)), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	started := make(chan error, 1)
	go r.run(hm, started)
	if err := <-started; err != nil {
		<-r.done
		hm.model.Close()
		return nil, runners.AsError(Classify(err))
	}
	r.hm.Store(hm)
	return r, nil
}

// loadHost loads a checkpoint and its tokenizer on the host.
func loadHost(cfg Config, modelPath, tokPath string) (*hostModel, error) {
	m, err := local.LoadModel(modelPath)
	if err != nil {
		return nil, runners.Errorf(runners.CodeInternal, "%v", err)
	}
	fail := func(err error) (*hostModel, error) {
		m.Close()
		return nil, runners.Errorf(runners.CodeInternal, "%v", err)
	}
	var tok *local.Tokenizer
	switch {
	case tokPath != "":
		if tok, err = local.LoadTokenizer(tokPath, m.Params.VocabSize); err != nil {
			return fail(err)
		}
	case m.Vocab != nil:
		tok = m.Vocab
	default:
		return fail(fmt.Errorf("cuda: %s has no vocabulary: tokenizer_path is required", modelPath))
	}
	ctx := m.Params.SeqLen
	if c := cfg.ContextLength; c > 0 {
		if c > ctx {
			return fail(fmt.Errorf("cuda: context_length %d exceeds the model's sequence length %d", c, ctx))
		}
		ctx = c
	}
	name := cfg.Model
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath))
	}
	return &hostModel{model: m, tok: tok, t: m.Tensors(), p: m.Params, ctxLen: ctx, name: name}, nil
}

// owner is the state of the owner goroutine.
type owner struct {
	r      *Runner
	s      *session // nil while the context is lost
	hm     *hostModel
	active []*sequence
}

// run is the owner goroutine.
func (r *Runner) run(hm *hostModel, started chan<- error) {
	runtime.LockOSThread() // the context is current on this thread only
	defer runtime.UnlockOSThread()
	defer close(r.done)
	o := &owner{r: r, hm: hm}
	s, err := openSession(r.drv, r.cfg.Device, r.ptx, hm)
	started <- err
	if err != nil {
		return
	}
	o.s = s
	for {
		// Take every waiting op, then decode a step; block when no
		// sequence can run.
		select {
		case f := <-r.ops:
			f(o)
			continue
		case <-r.quit:
			o.shutdown()
			return
		default:
		}
		if o.step() {
			continue
		}
		select {
		case f := <-r.ops:
			f(o)
		case <-r.wake:
		case <-r.quit:
			o.shutdown()
			return
		}
	}
}

func (r *Runner) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// call runs f on the owner goroutine and waits for its result.
func (r *Runner) call(ctx context.Context, f func(*owner) error) error {
	res := make(chan error, 1)
	select {
	case r.ops <- func(o *owner) { res <- f(o) }:
	case <-r.done:
		return runners.Errorf(runners.CodeInternal, "cuda: runner is closed")
	case <-ctx.Done():
		return runners.AsError(ctx.Err())
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return runners.AsError(ctx.Err())
	}
}

// shutdown ends every stream and destroys the context.
func (o *owner) shutdown() {
	o.failAll(runners.Errorf(runners.CodeInternal, "cuda: runner closed"))
	o.s.destroy()
	o.s = nil
	o.hm.model.Close()
}

// failAll ends every active sequence with err.
func (o *owner) failAll(err error) {
	for _, q := range o.active {
		o.retire(q, err)
	}
	o.active = o.active[:0]
}

// retire ends q's stream (err nil: it has finished cleanly) and frees its cache.
func (o *owner) retire(q *sequence, err error) {
	if err != nil {
		q.pipe.Finish(err)
	}
	q.stopWake()
	if o.s != nil {
		o.s.freeCache(q.cache)
	}
	o.r.inFlight.Add(-1)
}

// lost records a sticky fault: every active request fails with it, the
// session is unusable until RebuildSession.
func (o *owner) lost(err error) {
	sf := &runners.SessionFault{Cause: runners.CudaContextPoisoned, Err: err}
	var f *runners.SessionFault
	if errors.As(err, &f) {
		sf = f
	}
	o.r.broken.Store(sf)
	o.failAll(sf)
}

// admit adds q to the active set (or fails it).
func (o *owner) admit(q *sequence) {
	if sf := o.r.broken.Load(); sf != nil || o.s == nil {
		o.r.inFlight.Add(-1)
		q.pipe.Finish(o.r.unavailable())
		q.stopWake()
		return
	}
	if q.hm != o.hm {
		// The weights changed between Execute and admission.
		o.r.inFlight.Add(-1)
		q.stopWake()
		q.pipe.Finish(runners.Errorf(runners.CodeInternal, "cuda: weights reloaded before the request started"))
		return
	}
	c, err := o.s.newCache()
	if err != nil {
		err = Classify(err)
		o.r.inFlight.Add(-1)
		q.stopWake()
		q.pipe.Finish(err)
		if isFault(err) {
			o.lost(err)
		}
		return
	}
	q.cache = c
	o.active = append(o.active, q)
}

func isFault(err error) bool {
	var sf *runners.SessionFault
	return errors.As(err, &sf)
}

// step decodes one token of up to MaxSequences active sequences. It
// returns false when none could run.
func (o *owner) step() bool {
	kept := o.active[:0]
	for _, q := range o.active {
		if err := q.ctx.Err(); err != nil {
			o.retire(q, runners.AsError(err))
			continue
		}
		kept = append(kept, q)
	}
	clear(o.active[len(kept):])
	o.active = kept
	if o.s == nil {
		return false
	}
	if o.r.trapNext.CompareAndSwap(true, false) {
		if err := o.s.trap(); err != nil {
			o.lost(Classify(err))
			return true
		}
	}
	ran := false
	limit := o.r.cfg.maxSequences()
	kept = o.active[:0]
	for i, q := range o.active {
		if i >= limit || q.stalled() {
			kept = append(kept, q)
			continue
		}
		ran = true
		done, err := o.decode(q)
		if err != nil {
			err = Classify(err)
			if isFault(err) {
				// Everyone still active (this one included) fails with the fault.
				o.active = append(kept, o.active[i:]...)
				o.lost(err)
				return true
			}
			o.retire(q, err)
			continue
		}
		if done {
			o.retire(q, nil)
			continue
		}
		kept = append(kept, q)
	}
	clear(o.active[len(kept):])
	o.active = kept
	return ran
}

// decode feeds q's next token and, past the prompt, samples and streams
// one generated token. done reports that q's stream has finished.
func (o *owner) decode(q *sequence) (done bool, err error) {
	want := q.pos >= len(q.prompt)-1
	if err := o.s.forward(q.next, q.pos, q.cache, want); err != nil {
		return false, err
	}
	q.pos++
	if !want {
		q.next = q.prompt[q.pos]
		return false, nil
	}
	tok := o.hm.tok
	next := q.sampler.Sample(o.s.hostLogits)
	q.gen++
	if next == tok.EOS || next == tok.BOS {
		q.finish(q.filter.Flush(), messages.FinishReason_FINISH_REASON_STOP)
		return true, nil
	}
	text, stopped := q.filter.Emit(tok.Decode(q.next, next))
	q.next = next
	switch {
	case stopped:
		q.finish(text, messages.FinishReason_FINISH_REASON_STOP)
		return true, nil
	case q.gen >= q.maxNew || q.pos >= o.hm.ctxLen:
		q.finish(text+q.filter.Flush(), messages.FinishReason_FINISH_REASON_LENGTH)
		return true, nil
	}
	if !q.send(text, messages.FinishReason_FINISH_REASON_UNSPECIFIED) {
		q.pipe.Finish(runners.AsError(context.Canceled))
		return true, nil
	}
	return false, nil
}

// unavailable is the error of a request on a lost context.
func (r *Runner) unavailable() error {
	if sf := r.broken.Load(); sf != nil {
		return sf
	}
	return &runners.SessionFault{Cause: runners.CudaContextPoisoned, Err: errors.New("cuda: no session")}
}

// Close stops the runner: running streams fail, the context is destroyed.
func (r *Runner) Close() error {
	r.closeMu.Lock()
	if !r.closed {
		r.closed = true
		close(r.quit)
	}
	r.closeMu.Unlock()
	<-r.done
	return nil
}

// RuntimeKind returns runners.RuntimeCUDA.
func (r *Runner) RuntimeKind() runners.RuntimeKind { return runners.RuntimeCUDA }

// TransportKind returns LocalGPU.
func (r *Runner) TransportKind() runners.TransportKind { return runners.TransportLocalGPU() }

// Name describes the driver, for logs.
func (r *Runner) Name() string { return r.drv.Name() }

// LoadWeights loads a checkpoint from a LocalPath source (its
// TokenizerPath, when set, replaces the configured one's) in a new
// context, in place of the current weights; later rebuilds reload it.
// Requests running on the old weights fail with an internal error.
func (r *Runner) LoadWeights(ctx context.Context, _ runners.CudaContextHandle, src runners.WeightSource) error {
	if src.Kind != runners.LocalPath {
		return runners.Errorf(runners.CodeUnsupported, "cuda: weight source %s is not supported (want a local path)", src)
	}
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	tp := src.TokenizerPath
	if tp == "" {
		tp = r.cfg.TokenizerPath
	}
	hm, err := loadHost(r.cfg, src.Path, tp)
	if err != nil {
		return err
	}
	return r.call(ctx, func(o *owner) error {
		o.failAll(runners.Errorf(runners.CodeInternal, "cuda: weights replaced while the request ran"))
		return o.reopen(hm)
	})
}

// reopen destroys the session and opens a new one over hm. On failure
// the runner stays broken until the next successful reopen.
func (o *owner) reopen(hm *hostModel) error {
	o.s.destroy()
	o.s = nil
	if hm != o.hm {
		old := o.hm
		o.hm = hm
		o.r.hm.Store(hm)
		old.model.Close()
	}
	s, err := openSession(o.r.drv, o.r.cfg.Device, o.r.ptx, o.hm)
	if err != nil {
		err = Classify(err)
		sf := &runners.SessionFault{Cause: runners.CudaContextPoisoned, Err: fmt.Errorf("cuda: session rebuild failed: %w", err)}
		o.r.broken.Store(sf)
		return runners.AsError(err)
	}
	o.s = s
	o.r.broken.Store(nil)
	return nil
}

// RebuildSession destroys the context and creates a new one, reloads the
// module and the weights (from the host copy) and runs the canary kernel.
// Requests still running fail: with the session fault when the context was
// lost, otherwise with an internal error. An error leaves the runner
// without a session (every request fails with a CudaContextPoisoned
// session fault) until a later rebuild succeeds.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	return r.call(ctx, func(o *owner) error {
		if sf := r.broken.Load(); sf != nil {
			o.failAll(sf)
		} else {
			o.failAll(runners.Errorf(runners.CodeInternal, "cuda: session rebuilt (%s) while the request ran", cause))
		}
		return o.reopen(o.hm)
	})
}

// Healthy runs the canary kernel on the current session.
func (r *Runner) Healthy(ctx context.Context) error {
	return r.call(ctx, func(o *owner) error {
		if sf := r.broken.Load(); sf != nil || o.s == nil {
			return r.unavailable()
		}
		if err := o.s.canary(); err != nil {
			err = Classify(err)
			if isFault(err) {
				o.lost(err)
			}
			return err
		}
		return nil
	})
}

// Execute tokenizes the conversation and queues it for decoding; the
// handle streams one chunk per generated token, as runners/local does. On
// a lost context it fails at once with a CudaContextPoisoned session fault.
func (r *Runner) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	if sf := r.broken.Load(); sf != nil {
		return nil, sf
	}
	hm := r.hm.Load()
	if hm == nil {
		return nil, runners.Errorf(runners.CodeInternal, "cuda: runner is closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, runners.AsError(err)
	}
	q, err := r.newSequence(ctx, hm, batch)
	if err != nil {
		return nil, err
	}
	r.inFlight.Add(1)
	q.stopWake = context.AfterFunc(q.ctx, r.signal)
	select {
	case r.ops <- func(o *owner) { o.admit(q) }:
	case <-r.done:
		q.stopWake()
		r.inFlight.Add(-1)
		q.pipe.Close()
		return nil, runners.Errorf(runners.CodeInternal, "cuda: runner is closed")
	}
	return q.pipe, nil
}

// newSequence validates the request and builds its sequence.
func (r *Runner) newSequence(ctx context.Context, hm *hostModel, batch *messages.ExecuteBatch) (*sequence, error) {
	plan, err := local.PlanRequest("cuda", hm.tok, r.cfg.ChatTemplate, hm.ctxLen, r.cfg.Seed, batch)
	if err != nil {
		return nil, err
	}
	pipe, pctx := runners.NewPipe(ctx, plan.MaxNew+1)
	q := &sequence{
		ctx: pctx, pipe: pipe, hm: hm, requestID: batch.GetRequestId(),
		prompt: plan.Prompt, next: plan.Prompt[0], maxNew: plan.MaxNew,
		sampler: local.NewSampler(hm.p.VocabSize, plan.Temperature, plan.TopP, plan.TopK, plan.Seed, plan.Presence, plan.Frequency),
		filter:  local.NewTextFilter(plan.Stops),
	}
	if g := r.stall.Load(); g != nil {
		q.stallAfter, q.stallRelease = g.after, g.release
	}
	return q, nil
}

// sequence is one request being decoded.
type sequence struct {
	ctx       context.Context
	pipe      *runners.Pipe
	hm        *hostModel
	requestID string

	prompt  []int
	pos     int // tokens fed so far = position of the next feed
	next    int // token to feed at pos
	maxNew  int
	gen     int
	seq     uint32
	cache   kvCache
	sampler *local.Sampler
	filter  *local.TextFilter

	stopWake func() bool

	stallAfter   uint32
	stallRelease chan struct{}
}

func (q *sequence) stalled() bool {
	if q.stallRelease == nil || q.seq < q.stallAfter {
		return false
	}
	select {
	case <-q.stallRelease:
		q.stallRelease = nil
		return false
	default:
		return true
	}
}

func (q *sequence) send(text string, finish messages.FinishReason) bool {
	c := &messages.TokenChunk{RequestId: q.requestID, Seq: q.seq, Text: text, FinishReason: finish}
	q.seq++
	if finish != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		c.Usage = &messages.Usage{InputTokens: int64(len(q.prompt)), OutputTokens: int64(q.gen)}
		c.Model = q.hm.name
	}
	return q.pipe.Send(c)
}

func (q *sequence) finish(text string, reason messages.FinishReason) {
	q.send(text, reason)
	q.pipe.Finish(nil)
}

// stallForTest is the conformance suite's Stall injector.
func (r *Runner) stallForTest(after int) (release func()) {
	g := &stallGate{after: uint32(after), release: make(chan struct{})}
	r.stall.Store(g)
	return sync.OnceFunc(func() {
		r.stall.CompareAndSwap(g, nil)
		close(g.release)
		r.signal()
	})
}

// InjectTrap makes the next decode step launch the trap kernel, which
// loses the context as a faulting kernel would (a test hook for the
// poison → rebuild path, on the fake driver and on a real GPU).
func (r *Runner) InjectTrap() { r.trapNext.Store(true) }

// InFlight reports the requests queued or being decoded.
func (r *Runner) InFlight() int { return int(r.inFlight.Load()) }
