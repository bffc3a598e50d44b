package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// LimiterObserver receives the RateLimiterActor's events, for metrics. Its
// methods are called from the actor's goroutine, one at a time per actor,
// and must not block; an observer shared by several actors must be safe for
// concurrent use.
type LimiterObserver interface {
	// OnGrant is called for every permit granted, with the time it waited
	// (0 when granted at once).
	OnGrant(waited time.Duration)
	// OnWait is called when a request has to wait; scope says what holds
	// back the queue (rpm, tpm, concurrency).
	OnWait(scope string)
	// OnReject is called when a waiting request fails at its deadline, with
	// the scope named in its error.
	OnReject(scope string)
}

type nopLimiterObserver struct{}

func (nopLimiterObserver) OnGrant(time.Duration) {}
func (nopLimiterObserver) OnWait(string)         {}
func (nopLimiterObserver) OnReject(string)       {}

// LimiterOption configures a RateLimiterActor.
type LimiterOption func(*limiterOptions)

type limiterOptions struct {
	logger   *slog.Logger
	observer LimiterObserver
	name     string
	empty    bool
}

// WithLimiterLogger sets the logger of a RateLimiterActor; by default it
// logs nothing.
func WithLimiterLogger(l *slog.Logger) LimiterOption {
	return func(o *limiterOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithLimiterObserver sets the observer of a RateLimiterActor's events; by
// default events are dropped.
func WithLimiterObserver(obs LimiterObserver) LimiterOption {
	return func(o *limiterOptions) {
		if obs != nil {
			o.observer = obs
		}
	}
}

// WithLimiterName sets the deployment name written into the errors a
// RateLimiterActor sends.
func WithLimiterName(name string) LimiterOption {
	return func(o *limiterOptions) { o.name = name }
}

// WithLimiterEmptyStart makes a RateLimiterActor start (and restart) with
// empty buckets (see Limiter.Empty).
func WithLimiterEmptyStart() LimiterOption {
	return func(o *limiterOptions) { o.empty = true }
}

// NewRateLimiterProps returns the props of a RateLimiterActor enforcing
// limits (nil or zero: unlimited) on time from clk.
//
// Protocol:
//   - *messages.PermitRequest: answered, to its reply_to or else to the
//     sender, by *messages.PermitGrant when granted (at once or after
//     waiting in arrival order) or *messages.PermitDenied with a
//     rate_limited error naming the scope and a retry-after when the
//     deadline passes first (bad_request for a duplicate request id).
//     Waiting never blocks the mailbox.
//   - *messages.PermitRelease: frees the permit's concurrency slot and
//     settles its actual tokens (see Limiter). No reply.
//   - *messages.PermitCancel: withdraws a waiting request, or frees a granted
//     permit without settling. No reply.
//   - *messages.RateLimitFeedback: applies a provider 429 or rate-limit
//     headers (see Limiter.Feedback). No reply.
//   - *messages.StateQuery: responds with *messages.LimiterState.
//
// When the actor stops or restarts, every waiting request is answered with
// PermitDenied (internal); permits held at a restart are forgotten.
func NewRateLimiterProps(limits *runners.RateLimits, clk clock.Clock, opts ...LimiterOption) *actor.Props {
	o := limiterOptions{logger: slog.New(slog.DiscardHandler), observer: nopLimiterObserver{}}
	for _, opt := range opts {
		opt(&o)
	}
	var lim *runners.RateLimits
	if limits != nil {
		l := *limits
		lim = &l
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &rateLimiterActor{
			core:    NewLimiter(lim),
			clk:     clk,
			opts:    o,
			replyTo: make(map[string]*actor.PID),
		}
	})
}

// rateLimiterActor is the thin actor around a Limiter.
type rateLimiterActor struct {
	core    *Limiter
	clk     clock.Clock
	opts    limiterOptions
	replyTo map[string]*actor.PID // waiting requests

	self    *actor.PID
	system  *actor.ActorSystem
	timer   clock.Timer
	timerAt time.Time
	gen     uint64
}

// limiterWake is the self-message of the actor's timer. It never leaves the
// process, so it is a plain Go struct.
type limiterWake struct{ gen uint64 }

// Receive implements actor.Actor.
func (a *rateLimiterActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self, a.system = ctx.Self(), ctx.ActorSystem()
		if a.opts.empty {
			a.core.Empty(a.clk.Now())
		}
	case *actor.Stopping, *actor.Restarting:
		a.shutdown(ctx)
	case *messages.PermitRequest:
		a.onRequest(ctx, m)
	case *messages.PermitRelease:
		now := a.clk.Now()
		a.core.Release(now, m.GetRequestId(), m.GetActualTokens())
		a.advance(ctx, now)
	case *messages.PermitCancel:
		now := a.clk.Now()
		a.core.Cancel(m.GetRequestId())
		delete(a.replyTo, m.GetRequestId())
		a.advance(ctx, now)
	case *messages.RateLimitFeedback:
		now := a.clk.Now()
		a.core.Feedback(now, m)
		if m.GetRetryAfterMs() > 0 {
			a.opts.logger.Info("provider rate limit: pausing grants",
				"deployment", a.opts.name, "retry_after", time.Duration(m.GetRetryAfterMs())*time.Millisecond)
		}
		a.advance(ctx, now)
	case *messages.StateQuery:
		ctx.Respond(a.core.State(a.clk.Now()))
	case *limiterWake:
		if m.gen == a.gen {
			a.timer, a.timerAt = nil, time.Time{}
		}
		a.advance(ctx, a.clk.Now())
	}
}

func (a *rateLimiterActor) onRequest(ctx actor.Context, m *messages.PermitRequest) {
	now := a.clk.Now()
	id := m.GetRequestId()
	to := replyTarget(m.GetReplyTo(), ctx.Sender())
	var deadline time.Time
	if ns := m.GetDeadlineUnixNano(); ns != 0 {
		deadline = time.Unix(0, ns)
	}
	tokens := max(0, m.GetTokens())
	granted, err := a.core.Request(now, id, tokens, deadline)
	switch {
	case err != nil:
		e := runners.AsError(err)
		e.Deployment = a.opts.name
		if e.GetCode() == runners.CodeRateLimited {
			a.opts.observer.OnReject(e.GetScope())
		}
		a.send(ctx, to, &messages.PermitDenied{RequestId: id, Error: e})
	case granted:
		a.opts.observer.OnGrant(0)
		a.send(ctx, to, &messages.PermitGrant{RequestId: id, Tokens: tokens})
	default:
		a.replyTo[id] = to
		a.opts.observer.OnWait(a.core.Blocker(now))
	}
	a.advance(ctx, now)
}

// advance runs the core's Advance, answers the requests it settled and
// re-arms the wake-up timer.
func (a *rateLimiterActor) advance(ctx actor.Context, now time.Time) {
	granted, expired := a.core.Advance(now)
	for _, p := range granted {
		to := a.replyTo[p.ID]
		delete(a.replyTo, p.ID)
		a.opts.observer.OnGrant(p.Waited)
		a.send(ctx, to, &messages.PermitGrant{RequestId: p.ID, Tokens: p.Tokens})
	}
	for _, d := range expired {
		to := a.replyTo[d.ID]
		delete(a.replyTo, d.ID)
		d.Err.Deployment = a.opts.name
		a.opts.observer.OnReject(d.Err.GetScope())
		a.send(ctx, to, &messages.PermitDenied{RequestId: d.ID, Error: d.Err})
	}
	a.arm(now)
}

// arm keeps exactly one timer armed for the core's next wake-up.
func (a *rateLimiterActor) arm(now time.Time) {
	next := a.core.NextWake(now)
	if a.timer != nil && a.timerAt.Equal(next) {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
		a.timer, a.timerAt = nil, time.Time{}
	}
	if next.IsZero() || a.system == nil {
		return
	}
	a.gen++
	gen, self, system := a.gen, a.self, a.system
	a.timerAt = next
	a.timer = a.clk.AfterFunc(next.Sub(now), func() { system.Root.Send(self, &limiterWake{gen: gen}) })
}

func (a *rateLimiterActor) send(ctx actor.Context, to *actor.PID, msg any) {
	if to == nil {
		a.opts.logger.Warn("rate limiter: reply without a target dropped", "deployment", a.opts.name)
		return
	}
	ctx.Send(to, msg)
}

// shutdown answers every waiting request so that no caller hangs.
func (a *rateLimiterActor) shutdown(ctx actor.Context) {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	for id, to := range a.replyTo {
		a.core.Cancel(id)
		a.send(ctx, to, &messages.PermitDenied{RequestId: id, Error: &messages.Error{
			Code: runners.CodeInternal, Deployment: a.opts.name, RequestId: id, Scope: "limiter",
			Message: "rate limiter stopped"}})
	}
	clear(a.replyTo)
}
