package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
)

// BudgetObserver receives the BudgetActor's events, for metrics. Its methods
// are called from the actor's goroutine, one at a time per actor, and must
// not block; an observer shared by several actors must be safe for
// concurrent use.
type BudgetObserver interface {
	// OnReject is called for a rejected reservation, with the scope (hour,
	// day or price).
	OnReject(scope string)
	// OnWarn is called for a reservation admitted over a cap under
	// OnExceededWarn, with the cap's scope.
	OnWarn(scope string)
	// OnSettle is called with the actual cost of every settled request
	// (negative when unknown).
	OnSettle(usd float64)
	// OnThrottle is called when the throttle engages (ThrottleFactor) and
	// when it lifts (1).
	OnThrottle(factor float64)
}

type nopBudgetObserver struct{}

func (nopBudgetObserver) OnReject(string)    {}
func (nopBudgetObserver) OnWarn(string)      {}
func (nopBudgetObserver) OnSettle(float64)   {}
func (nopBudgetObserver) OnThrottle(float64) {}

// BudgetOption configures a BudgetActor.
type BudgetOption func(*budgetOptions)

type budgetOptions struct {
	logger   *slog.Logger
	observer BudgetObserver
	name     string
	restore  func() *messages.BudgetState
}

// WithBudgetLogger sets the logger of a BudgetActor (warnings and throttle
// changes); by default it logs nothing.
func WithBudgetLogger(l *slog.Logger) BudgetOption {
	return func(o *budgetOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithBudgetObserver sets the observer of a BudgetActor's events; by default
// events are dropped.
func WithBudgetObserver(obs BudgetObserver) BudgetOption {
	return func(o *budgetOptions) {
		if obs != nil {
			o.observer = obs
		}
	}
}

// WithBudgetRestore makes a BudgetActor restore, when it starts, the spend
// recorded by the snapshot restore returns (see Budget.Restore); restore
// may return nil.
func WithBudgetRestore(restore func() *messages.BudgetState) BudgetOption {
	return func(o *budgetOptions) { o.restore = restore }
}

// WithBudgetName sets the deployment name written into the errors and logs
// of a BudgetActor.
func WithBudgetName(name string) BudgetOption {
	return func(o *budgetOptions) { o.name = name }
}

// NewBudgetProps returns the props of a BudgetActor enforcing cfg (which
// should have passed Validate) on time from clk.
//
// Protocol:
//   - *messages.BudgetReserve: answered, to its reply_to or else to the
//     sender, by *messages.BudgetReserved (warned = true when admitted over
//     a cap under warn) or *messages.BudgetDenied with a budget_exceeded
//     error naming the scope (hour, day, price) and, for hour and day, when
//     it resets.
//   - *messages.BudgetSettle: charges the actual cost (negative: unknown,
//     charge the reservation). No reply.
//   - *messages.BudgetRelease: drops a reservation. No reply.
//   - *messages.BudgetCheck: answered, to its reply_to or else to the
//     sender, by *messages.BudgetVerdict carrying the error a reservation
//     would get now (none when it would be admitted); reserves nothing.
//   - *messages.StateQuery: responds with *messages.BudgetState.
//
// Under OnExceededThrottle, when a rejection engages the throttle the actor
// sends *messages.Throttle{Factor: 0.5, UntilUnixNano: reset} to its parent,
// and *messages.Throttle{Factor: 1} when the window resets (or the actor
// stops or restarts). Its state lives in memory: a restart forgets spend and
// reservations.
func NewBudgetProps(cfg BudgetConfig, clk clock.Clock, opts ...BudgetOption) *actor.Props {
	o := budgetOptions{logger: slog.New(slog.DiscardHandler), observer: nopBudgetObserver{}}
	for _, opt := range opts {
		opt(&o)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &budgetActor{core: NewBudget(cfg), clk: clk, opts: o}
	})
}

// budgetActor is the thin actor around a Budget.
type budgetActor struct {
	core *Budget
	clk  clock.Clock
	opts budgetOptions

	throttleSent  bool
	throttleUntil time.Time
	timer         clock.Timer
}

// budgetWake is the self-message of the throttle timer; in-process only.
type budgetWake struct{}

// Receive implements actor.Actor.
func (a *budgetActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if a.opts.restore != nil {
			a.core.Restore(a.clk.Now(), a.opts.restore())
		}
	case *messages.BudgetReserve:
		a.onReserve(ctx, m)
	case *messages.BudgetSettle:
		a.core.Settle(a.clk.Now(), m.GetRequestId(), m.GetActualUsd())
		a.opts.observer.OnSettle(m.GetActualUsd())
		a.syncThrottle(ctx)
	case *messages.BudgetRelease:
		a.core.Release(a.clk.Now(), m.GetRequestId())
	case *messages.BudgetCheck:
		v := &messages.BudgetVerdict{RequestId: m.GetRequestId(), AmountUsd: m.GetAmountUsd(),
			Error: a.core.Check(a.clk.Now(), m.GetAmountUsd())}
		if v.Error != nil {
			v.Error.RequestId, v.Error.Deployment = m.GetRequestId(), a.opts.name
		}
		if to := replyTarget(m.GetReplyTo(), ctx.Sender()); to != nil {
			ctx.Send(to, v)
		}
	case *messages.StateQuery:
		ctx.Respond(a.core.State(a.clk.Now()))
	case *budgetWake:
		a.timer = nil
		a.syncThrottle(ctx)
	case *actor.Stopping, *actor.Restarting:
		if a.timer != nil {
			a.timer.Stop()
			a.timer = nil
		}
		// The spend is forgotten with this instance: lift the throttle.
		if a.throttleSent {
			a.throttleSent = false
			a.tellParent(ctx, &messages.Throttle{Factor: 1})
		}
	}
}

func (a *budgetActor) onReserve(ctx actor.Context, m *messages.BudgetReserve) {
	now := a.clk.Now()
	id := m.GetRequestId()
	to := replyTarget(m.GetReplyTo(), ctx.Sender())
	adm := a.core.Reserve(now, id, m.GetAmountUsd())
	var reply any
	if adm.OK() {
		if adm.Warned {
			a.opts.observer.OnWarn(adm.Scope)
			s := a.core.State(now)
			a.opts.logger.Warn("budget cap exceeded; admitting (on_exceeded = warn)",
				"deployment", a.opts.name, "scope", adm.Scope, "request_id", id, "amount_usd", adm.ReservedUSD,
				"spent_hour_usd", s.GetSpentHourUsd(), "spent_day_usd", s.GetSpentDayUsd(), "reserved_usd", s.GetReservedUsd())
		}
		reply = &messages.BudgetReserved{RequestId: id, AmountUsd: adm.ReservedUSD, Warned: adm.Warned}
	} else {
		adm.Err.Deployment = a.opts.name
		a.opts.observer.OnReject(adm.Err.GetScope())
		reply = &messages.BudgetDenied{RequestId: id, Error: adm.Err}
	}
	if to != nil {
		ctx.Send(to, reply)
	} else {
		a.opts.logger.Warn("budget: reply without a target dropped", "deployment", a.opts.name, "request_id", id)
	}
	a.syncThrottle(ctx)
}

// syncThrottle tells the parent when the throttle engages, moves or lifts,
// and keeps a timer armed for its end.
func (a *budgetActor) syncThrottle(ctx actor.Context) {
	now := a.clk.Now()
	until, on := a.core.Throttled(now)
	switch {
	case on && (!a.throttleSent || !until.Equal(a.throttleUntil)):
		a.throttleSent, a.throttleUntil = true, until
		a.tellParent(ctx, &messages.Throttle{Factor: ThrottleFactor, UntilUnixNano: until.UnixNano()})
		a.opts.observer.OnThrottle(ThrottleFactor)
		a.opts.logger.Warn("budget cap reached; throttling the deployment (on_exceeded = throttle)",
			"deployment", a.opts.name, "factor", ThrottleFactor, "until", until)
		if a.timer != nil {
			a.timer.Stop()
		}
		self, system := ctx.Self(), ctx.ActorSystem()
		a.timer = a.clk.AfterFunc(until.Sub(now), func() { system.Root.Send(self, &budgetWake{}) })
	case !on && a.throttleSent:
		a.throttleSent, a.throttleUntil = false, time.Time{}
		a.tellParent(ctx, &messages.Throttle{Factor: 1})
		a.opts.observer.OnThrottle(1)
		a.opts.logger.Info("budget window reset; throttle lifted", "deployment", a.opts.name)
	}
}

func (a *budgetActor) tellParent(ctx actor.Context, m *messages.Throttle) {
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, m)
	}
}
