package fake

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

var _ runners.ModelRunner = (*Runner)(nil)

// Runner is the fake ModelRunner. Create it with New; the zero value is not
// usable. All methods are safe for concurrent use.
type Runner struct {
	runners.Defaults // LoadWeights (no-op) and GILPinned (false)

	cfg config

	poisoned atomic.Bool // read by running streams at every token
	inFlight atomic.Int64
	open     atomic.Int64

	mu         sync.Mutex
	executes   int
	notify     chan struct{} // closed at the next Execute; nil when nobody waits
	onExecute  func(call int, b *messages.ExecuteBatch)
	stage      Stage
	rules      []failRule
	rateLeft   int
	retryAfter time.Duration
	authFailed bool
	stallCh    chan struct{} // non-nil while stalled; closed by Release
	stallAt    int
	cutAt      int // -1: no cut armed
	cutErr     error
	rebuildErr error
	healthErr  error
	rebuilds   map[runners.SessionRebuildCause]int
	sink       func(*messages.RateLimitFeedback)
}

// New returns a runner configured by opts.
func New(opts ...Option) *Runner {
	cfg := config{
		runtime:   runners.RuntimeFake,
		clock:     clock.Real{},
		maxTokens: DefaultMaxTokens,
		buffer:    8,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.runtime == "" {
		cfg.runtime = runners.RuntimeFake
	}
	if cfg.clock == nil {
		cfg.clock = clock.Real{}
	}
	if cfg.maxTokens <= 0 {
		cfg.maxTokens = DefaultMaxTokens
	}
	if cfg.buffer < 0 {
		cfg.buffer = 0
	}
	return &Runner{cfg: cfg, stage: cfg.stage, cutAt: -1, rebuilds: make(map[runners.SessionRebuildCause]int)}
}

// Execute starts answering b (see the package doc) and returns its stream,
// or the fault injected for this call. It never blocks, except in the
// OnExecute callback.
func (r *Runner) Execute(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
	r.mu.Lock()
	r.executes++
	call := r.executes
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
	hook := r.onExecute
	r.mu.Unlock()
	if hook != nil {
		hook(call, b)
	}

	if b == nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "fake: nil batch")
	}
	maxTok := int(b.GetSampling().GetMaxTokens())
	if maxTok < 0 {
		return nil, &messages.Error{Code: runners.CodeBadRequest, RequestId: b.GetRequestId(),
			Message: "fake: negative max_tokens"}
	}
	if maxTok == 0 {
		maxTok = r.cfg.maxTokens
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err, b.GetRequestId(), false)
	}

	g := gen{
		r:       r,
		reqID:   b.GetRequestId(),
		model:   r.cfg.model,
		stream:  b.GetStream(),
		input:   inputTokens(b),
		cutAt:   -1,
		stallAt: -1,
	}
	if g.model == "" {
		g.model = b.GetModel()
	}

	stage, fault := r.admit(call, &g)
	if fault != nil && stage == AtExecute {
		return nil, fault
	}

	src := replySource(b)
	if r.cfg.reply != nil {
		src = r.cfg.reply(b)
	}
	g.p = makePlan(src, maxTok, b.GetSampling().GetStop())
	g.pos = g.p.start
	g.total = max(g.p.tokens, 1)
	g.startErr = fault
	if g.cutAt >= 0 {
		if !g.stream {
			g.cutAt = 0 // a unary answer is cut before its only chunk
		}
		g.cutAt = min(g.cutAt, g.total)
	}
	if g.stallCh != nil {
		g.stallAt = min(g.stallAt, g.total-1) // a stalled stream never completes
	}

	r.open.Add(1)
	r.inFlight.Add(1)
	if r.cfg.delay <= 0 && g.stallCh == nil {
		h := &handle{ctx: ctx, g: g}
		h.running.Store(true)
		return h, nil
	}
	p, pctx := runners.NewPipe(ctx, r.cfg.buffer)
	h := &pipeHandle{Pipe: p, r: r, g: g}
	go r.produce(pctx, p, &h.g)
	return h, nil
}

// admit decides the fate of call: the fault it fails with, and where, or
// the armed cut and stall it takes on (into g).
func (r *Runner) admit(call int, g *gen) (Stage, error) {
	r.mu.Lock()
	fault := r.faultLocked(call, g.reqID)
	stage, sink := r.stage, r.sink
	if fault == nil {
		if r.cutAt >= 0 {
			g.cutAt, g.cutErr = r.cutAt, r.cutErr
			r.cutAt, r.cutErr = -1, nil
		}
		if r.stallCh != nil {
			g.stallCh, g.stallAt = r.stallCh, r.stallAt
		}
	}
	r.mu.Unlock()
	if e, ok := fault.(*messages.Error); ok && sink != nil && r.cfg.feedback && e.GetCode() == runners.CodeRateLimited {
		sink(&messages.RateLimitFeedback{RetryAfterMs: e.GetRetryAfterMs(), RemainingRequests: -1, RemainingTokens: -1})
	}
	return stage, fault
}

// RebuildSession records the rebuild and clears the faults cause repairs:
// CudaContextPoisoned clears PoisonContext; RemoteAuthFailure and
// RemoteConfigChange clear ExpireAuth; Manual clears both. It fails with the
// FailRebuild error when one is set (clearing nothing), with a cancelled or
// timeout error when ctx is done, and with bad_request for CauseUnknown.
// Every call is counted, failed or not.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebuilds[cause]++
	if err := ctx.Err(); err != nil {
		return ctxError(err, "", false)
	}
	if r.rebuildErr != nil {
		return typed(r.rebuildErr, "")
	}
	switch cause {
	case runners.CudaContextPoisoned:
		r.poisoned.Store(false)
	case runners.RemoteAuthFailure, runners.RemoteConfigChange:
		r.authFailed = false
	case runners.Manual:
		r.poisoned.Store(false)
		r.authFailed = false
	default:
		return runners.Errorf(runners.CodeBadRequest, "fake: rebuild with cause %s", cause)
	}
	return nil
}

// RuntimeKind returns the configured runtime (default runners.RuntimeFake).
func (r *Runner) RuntimeKind() runners.RuntimeKind { return r.cfg.runtime }

// TransportKind returns the configured transport (default LocalCPU).
func (r *Runner) TransportKind() runners.TransportKind { return r.cfg.transport }

// RateLimits returns a copy of the configured limits, or nil.
func (r *Runner) RateLimits() *runners.RateLimits {
	if r.cfg.limits == nil {
		return nil
	}
	l := *r.cfg.limits
	return &l
}

// EstimateCostUSD returns the input words plus the effective max_tokens at
// the configured price: 0 without a price, -1 when the price is unknown.
func (r *Runner) EstimateCostUSD(b *messages.ExecuteBatch) float64 {
	if r.cfg.unknown {
		return -1
	}
	if r.cfg.price == nil {
		return 0
	}
	maxTok := int64(b.GetSampling().GetMaxTokens())
	if maxTok <= 0 {
		maxTok = int64(r.cfg.maxTokens)
	}
	return r.cfg.price.cost(inputTokens(b), maxTok)
}

func (p *price) cost(input, output int64) float64 {
	return (float64(input)*p.InputPerMTok + float64(output)*p.OutputPerMTok) / 1e6
}

// Executes returns the number of Execute calls so far, failed ones included.
func (r *Runner) Executes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.executes
}

// WaitExecutes blocks until at least n Execute calls have been made or
// deadline fires; it reports whether n were reached.
func (r *Runner) WaitExecutes(n int, deadline <-chan time.Time) bool {
	for {
		r.mu.Lock()
		if r.executes >= n {
			r.mu.Unlock()
			return true
		}
		if r.notify == nil {
			r.notify = make(chan struct{})
		}
		ch := r.notify
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

// OnExecute registers f, called at the start of every Execute (after it is
// counted, before any fault applies) on the caller's goroutine with the
// 1-based call number. f may block to hold the call; nil removes it.
func (r *Runner) OnExecute(f func(call int, b *messages.ExecuteBatch)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onExecute = f
}

// Rebuilds returns how many times RebuildSession was called with cause.
func (r *Runner) Rebuilds(cause runners.SessionRebuildCause) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rebuilds[cause]
}

// RebuildCounts returns a copy of the RebuildSession call counts by cause.
func (r *Runner) RebuildCounts() map[runners.SessionRebuildCause]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[runners.SessionRebuildCause]int, len(r.rebuilds))
	for c, n := range r.rebuilds {
		m[c] = n
	}
	return m
}

// InFlight returns the number of streams still generating: started and
// neither finished, failed, cancelled nor closed.
func (r *Runner) InFlight() int { return int(r.inFlight.Load()) }

// Open returns the number of handles returned by Execute and not yet
// closed; a caller that always closes its handles leaves it at 0.
func (r *Runner) Open() int { return int(r.open.Load()) }
