package actors

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// CapacityPolicy says what a deployment does with a request when all its
// concurrency is in use.
type CapacityPolicy int

// The capacity policies. The zero value is CapacityQueue.
const (
	CapacityQueue    CapacityPolicy = iota // wait in the bounded priority queue
	CapacityReject                         // fail at once with backpressure
	CapacityFallback                       // hand the request to the next deployment in Fallback
)

// DeploymentSpec describes one deployment: a replica set of runners with its
// admission policy. The composition root builds it from the config.
type DeploymentSpec struct {
	Name    string
	Model   string
	Runtime string
	// NewRunner builds the runner of replica i (0-based). Called once per
	// replica at spawn; the runner lives across actor restarts.
	NewRunner func(replica int) (runners.ModelRunner, error)
	Replicas  int // 0 means 1

	// Idempotent allows the request that hit a session fault to be retried
	// once on the rebuilt session.
	Idempotent bool

	MaxConcurrent int // 0 means unlimited
	QueueSize     int // 0 means 1024
	OnCapacity    CapacityPolicy
	// Fallback lists deployments (by name) that take a request this one
	// cannot serve: capacity exhausted (OnCapacity = CapacityFallback),
	// circuit open, or a fallback-eligible error before the first chunk.
	Fallback []string

	// RateLimits overrides the runner's RateLimits() when non-nil.
	RateLimits *runners.RateLimits
	Budget     BudgetConfig
	Breaker    BreakerConfig

	// MaxRestarts within RestartWindow stop a replica for good (it is then
	// reported unhealthy). Zero values mean 5 restarts per minute.
	MaxRestarts   int
	RestartWindow time.Duration

	// EmptyLimiter starts the RateLimiterActor with empty buckets. The
	// cluster sets it: an activation may replace one whose node died, and
	// must not admit a burst on top of what that one granted.
	EmptyLimiter bool
	// RestoreBudget, when set, returns the last known state of this
	// deployment's budget (or nil); the BudgetActor restores its spend from
	// it when it starts (see Budget.Restore). The cluster sets it from the
	// snapshots the previous owner gossiped.
	RestoreBudget func() *messages.BudgetState
}

// env is what every deployment of one Host shares.
type env struct {
	dispatcher actor.Dispatcher
	pumps      *goPool
	clock      clock.Clock
	logger     *slog.Logger
	directory  *Directory
	observer   Observer
	place      Placement // nil: everything is in directory
}

// request is a deployment's record of one admitted or queued request. The
// record lives outside the runner actors, so a request survives the restart
// of the replica that was running it.
type request struct {
	exec     *messages.Execute
	replyTo  *actor.PID
	stage    stage
	replica  int
	attempts int
	permit   bool    // a limiter permit is held
	reserved float64 // USD reserved in the budget (0 = none)
	probe    bool    // admitted as a half-open breaker probe
	admitted bool    // counts against concurrency
	start    time.Time
}

type stage int

const (
	stageQueued stage = iota
	stagePermit
	stageBudget
	stageWaitReplica
	stageRunning
)

type replicaSlot struct {
	pid        *actor.PID
	rep        *replica
	inFlight   int
	rebuilding bool
	dead       bool
	restarts   int64
	lastCause  runners.SessionRebuildCause
	lastErr    string
}

// deploymentActor is the parent of a deployment's replicas and of its
// RateLimiterActor and BudgetActor. It owns the queue, the breaker and the
// record of every request in flight.
type deploymentActor struct {
	spec *DeploymentSpec
	env  *env

	replicas []*replicaSlot
	limiter  *actor.PID // nil: no limits
	budget   *actor.PID // nil: no budget
	breaker  *Breaker
	queue    *Queue[*request]
	requests map[string]*request
	waiting  []*request // admitted, waiting for a replica to be ready

	active   int     // admitted requests (hold a concurrency slot)
	throttle float64 // budget throttle factor (1 = off)
	expiry   clock.Timer
	expiryAt time.Time
	stopping bool
	handoff  bool // leaving this node: admit nothing more (see Handoff)
}

// expireQueue is the self-message that sweeps deadline-expired queued requests.
type expireQueue struct{}

func (d *deploymentActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		d.start(ctx)
	case *actor.Stopping:
		d.stopping = true
	case *messages.Execute:
		d.onExecute(ctx, m)
	case *messages.Cancel:
		d.onCancel(ctx, m.GetRequestId())
	case *messages.PermitGrant:
		d.onPermit(ctx, m.GetRequestId(), nil)
	case *messages.PermitDenied:
		d.onPermit(ctx, m.GetRequestId(), m.GetError())
	case *messages.BudgetReserved:
		d.onReserved(ctx, m.GetRequestId(), m.GetAmountUsd(), nil)
	case *messages.BudgetDenied:
		d.onReserved(ctx, m.GetRequestId(), 0, m.GetError())
	case *runFinished:
		d.onFinished(ctx, m)
	case *replicaReady:
		d.onReplicaReady(ctx, m)
	case *actor.Terminated:
		d.onTerminated(ctx, m.Who)
	case *messages.Throttle:
		d.throttle = m.GetFactor()
		if d.throttle <= 0 || d.throttle > 1 {
			d.throttle = 1
		}
		d.drain(ctx)
	case *messages.RateLimitFeedback:
		if d.limiter != nil {
			ctx.Send(d.limiter, m)
		}
	case *messages.Rebuild:
		n := 0
		cause := runners.CauseFromWire(m.GetCause())
		if cause == runners.CauseUnknown {
			cause = runners.Manual
		}
		for _, r := range d.replicas {
			if !r.dead {
				r.rebuilding = true
				ctx.Send(r.pid, &rebuildReplica{cause: cause})
				n++
			}
		}
		ctx.Respond(&messages.RebuildAck{Replicas: int32(n)})
	case *messages.BreakerForceOpen:
		d.breaker.ForceOpen(d.env.clock.Now(), time.Duration(m.GetOpenForMs())*time.Millisecond)
		ctx.Respond(d.breaker.State(d.env.clock.Now()))
	case *Handoff:
		d.onHandoff(ctx)
	case *messages.StateQuery:
		d.onState(ctx)
	case *messages.EstimateCost:
		d.onEstimate(ctx, m)
	case *expireQueue:
		d.expiry = nil
		d.expireQueued(ctx)
	}
}

func (d *deploymentActor) start(ctx actor.Context) {
	spec := d.spec
	n := spec.Replicas
	if n <= 0 {
		n = 1
	}
	var limits *runners.RateLimits
	for i := 0; i < n; i++ {
		slot := &replicaSlot{}
		r, err := spec.NewRunner(i)
		if err != nil {
			slot.dead, slot.lastErr = true, err.Error()
			d.env.logger.Error("replica failed to start", "deployment", spec.Name, "replica", i, "error", err)
			d.replicas = append(d.replicas, slot)
			continue
		}
		if limits == nil {
			limits = r.RateLimits()
		}
		if rr, ok := r.(runners.RateLimitReporter); ok {
			self, system := ctx.Self(), ctx.ActorSystem()
			rr.SetRateLimitSink(func(f *messages.RateLimitFeedback) { system.Root.Send(self, f) })
		}
		slot.rep = &replica{index: i, runner: r, logger: d.env.logger.With("deployment", spec.Name),
			active: map[string]context.CancelFunc{}, pumps: d.env.pumps}
		slot.pid = ctx.SpawnPrefix(newRunnerProps(slot.rep).Configure(actor.WithDispatcher(d.env.dispatcher)), "replica")
		d.replicas = append(d.replicas, slot)
	}
	if spec.RateLimits != nil {
		limits = spec.RateLimits
	}
	if !limits.IsZero() {
		lopts := []LimiterOption{WithLimiterLogger(d.env.logger), WithLimiterName(spec.Name)}
		if spec.EmptyLimiter {
			lopts = append(lopts, WithLimiterEmptyStart())
		}
		d.limiter = ctx.SpawnPrefix(NewRateLimiterProps(limits, d.env.clock, lopts...).
			Configure(actor.WithDispatcher(d.env.dispatcher)), "limiter")
	}
	if spec.Budget.Enabled() {
		bopts := []BudgetOption{WithBudgetLogger(d.env.logger), WithBudgetName(spec.Name)}
		if spec.RestoreBudget != nil {
			bopts = append(bopts, WithBudgetRestore(spec.RestoreBudget))
		}
		d.budget = ctx.SpawnPrefix(NewBudgetProps(spec.Budget, d.env.clock, bopts...).
			Configure(actor.WithDispatcher(d.env.dispatcher)), "budget")
	}
}

func (d *deploymentActor) now() time.Time { return d.env.clock.Now() }

// fail delivers a terminal error to the caller and forgets the request.
func (d *deploymentActor) fail(ctx actor.Context, r *request, e *messages.Error) {
	id := r.exec.GetBatch().GetRequestId()
	e.RequestId = id
	if e.Deployment == "" {
		e.Deployment = d.spec.Name
	}
	ctx.Send(r.replyTo, e)
	d.env.observer.RequestFailed(d.spec.Name, e)
	d.release(ctx, r, nil, 0)
}

// release frees everything a request holds and forgets it.
func (d *deploymentActor) release(ctx actor.Context, r *request, usage *messages.Usage, cost float64) {
	id := r.exec.GetBatch().GetRequestId()
	if r.permit && d.limiter != nil {
		var actual int64
		if usage != nil {
			actual = usage.GetInputTokens() + usage.GetOutputTokens()
		}
		ctx.Send(d.limiter, &messages.PermitRelease{RequestId: id, ActualTokens: actual})
		r.permit = false
	}
	if r.reserved != 0 && d.budget != nil {
		if usage != nil {
			ctx.Send(d.budget, &messages.BudgetSettle{RequestId: id, ActualUsd: cost})
		} else {
			ctx.Send(d.budget, &messages.BudgetRelease{RequestId: id})
		}
		r.reserved = 0
	}
	if r.probe {
		d.breaker.CancelProbe()
		r.probe = false
	}
	if r.admitted {
		d.active--
		r.admitted = false
	}
	delete(d.requests, id)
	d.drain(ctx)
}

func (d *deploymentActor) capacity() int {
	if d.spec.MaxConcurrent <= 0 {
		return int(^uint(0) >> 1)
	}
	c := int(float64(d.spec.MaxConcurrent) * d.throttle)
	if c < 1 {
		c = 1
	}
	return c
}

func (d *deploymentActor) alive() bool {
	for _, r := range d.replicas {
		if !r.dead {
			return true
		}
	}
	return false
}

func (d *deploymentActor) onExecute(ctx actor.Context, m *messages.Execute) {
	replyTo := ToActorPID(m.GetReplyTo())
	if replyTo == nil {
		replyTo = ctx.Sender()
	}
	batch := m.GetBatch()
	if replyTo == nil {
		d.env.logger.Warn("execute without reply-to dropped", "deployment", d.spec.Name)
		return
	}
	if batch == nil || batch.GetRequestId() == "" {
		ctx.Send(replyTo, &messages.Error{Code: runners.CodeBadRequest, Deployment: d.spec.Name,
			Message: "execute needs a batch with a request id"})
		return
	}
	if d.handoff {
		ctx.Send(replyTo, movedError(d.spec.Name, batch.GetRequestId()))
		return
	}
	id := batch.GetRequestId()
	if _, dup := d.requests[id]; dup {
		ctx.Send(replyTo, &messages.Error{Code: runners.CodeBadRequest, Deployment: d.spec.Name, RequestId: id,
			Message: "a request with this id is already in flight"})
		return
	}
	r := &request{exec: m, replyTo: replyTo, start: d.now(), attempts: int(m.GetAttempt())}
	if dl, ok := batch.Deadline(); ok && !dl.After(d.now()) {
		d.requests[id] = r
		d.fail(ctx, r, &messages.Error{Code: runners.CodeTimeout, Scope: "deadline", Message: "deadline passed before admission"})
		return
	}
	d.requests[id] = r
	if !d.alive() {
		d.fail(ctx, r, &messages.Error{Code: runners.CodeServerError, Scope: "replica",
			Message: "no healthy replica: every replica failed to rebuild its session"})
		return
	}
	if ok, retry := d.breaker.Allow(d.now()); !ok {
		if d.fallback(ctx, r) {
			return
		}
		d.fail(ctx, r, &messages.Error{Code: runners.CodeCircuitOpen, Scope: "breaker",
			RetryAfterMs: durMs(retry), Message: "circuit open after repeated upstream failures"})
		return
	} else if d.breaker.Probing() {
		r.probe = true
	}
	if d.active >= d.capacity() {
		switch d.spec.OnCapacity {
		case CapacityReject:
			d.fail(ctx, r, &messages.Error{Code: runners.CodeBackpressure, Scope: "concurrency", RetryAfterMs: 1000,
				Message: fmt.Sprintf("all %d concurrent slots are in use", d.capacity())})
			return
		case CapacityFallback:
			if d.fallback(ctx, r) {
				return
			}
		}
		dl, _ := batch.Deadline()
		if !d.queue.Push(r, int(batch.GetPriority()), id, dl) {
			d.fail(ctx, r, &messages.Error{Code: runners.CodeBackpressure, Scope: "queue", RetryAfterMs: 1000,
				Message: fmt.Sprintf("queue full (%d waiting)", d.queue.Len())})
			return
		}
		r.stage = stageQueued
		d.armExpiry(ctx)
		return
	}
	d.admit(ctx, r)
}

// fallback hands r to the next deployment in the fallback list that it has
// not visited. It reports false when there is none.
func (d *deploymentActor) fallback(ctx actor.Context, r *request) bool {
	visited := r.exec.GetVisited()
	for _, name := range d.spec.Fallback {
		seen := name == d.spec.Name
		for _, v := range visited {
			seen = seen || v == name
		}
		if seen {
			continue
		}
		pid := d.env.lookup(name)
		if pid == nil {
			continue
		}
		next := &messages.Execute{Batch: r.exec.GetBatch(), ReplyTo: FromActorPID(r.replyTo),
			Visited: append(append([]string(nil), visited...), d.spec.Name)}
		d.env.observer.Fallback(d.spec.Name, name)
		// Forget r here without failing it: the next deployment owns it now.
		d.release(ctx, r, nil, 0)
		ctx.Send(pid, next)
		return true
	}
	return false
}

func (d *deploymentActor) admit(ctx actor.Context, r *request) {
	r.admitted = true
	d.active++
	batch := r.exec.GetBatch()
	if d.limiter != nil {
		r.stage = stagePermit
		ctx.Send(d.limiter, &messages.PermitRequest{RequestId: batch.GetRequestId(), Tokens: batch.GetEstimatedTokens(),
			DeadlineUnixNano: batch.GetDeadlineUnixNano(), ReplyTo: FromActorPID(ctx.Self())})
		return
	}
	d.reserve(ctx, r)
}

func (d *deploymentActor) reserve(ctx actor.Context, r *request) {
	if d.budget == nil {
		d.dispatch(ctx, r)
		return
	}
	cost := d.estimate(r.exec.GetBatch())
	if cost == 0 {
		d.dispatch(ctx, r)
		return
	}
	r.stage = stageBudget
	ctx.Send(d.budget, &messages.BudgetReserve{RequestId: r.exec.GetBatch().GetRequestId(), AmountUsd: cost,
		ReplyTo: FromActorPID(ctx.Self())})
}

// estimate asks a live replica's runner for the worst-case cost.
func (d *deploymentActor) estimate(b *messages.ExecuteBatch) float64 {
	for _, r := range d.replicas {
		if r.rep != nil {
			return r.rep.runner.EstimateCostUSD(b)
		}
	}
	return 0
}

func (d *deploymentActor) onPermit(ctx actor.Context, id string, denied *messages.Error) {
	r := d.requests[id]
	if r == nil || r.stage != stagePermit {
		if r == nil && d.limiter != nil && denied == nil {
			// Granted after the caller went away: give it back.
			ctx.Send(d.limiter, &messages.PermitRelease{RequestId: id})
		}
		return
	}
	if denied != nil {
		d.fail(ctx, r, denied)
		return
	}
	r.permit = true
	d.reserve(ctx, r)
}

func (d *deploymentActor) onReserved(ctx actor.Context, id string, amount float64, denied *messages.Error) {
	r := d.requests[id]
	if r == nil || r.stage != stageBudget {
		if r == nil && d.budget != nil && denied == nil {
			ctx.Send(d.budget, &messages.BudgetRelease{RequestId: id})
		}
		return
	}
	if denied != nil {
		d.fail(ctx, r, denied)
		return
	}
	r.reserved = amount
	d.dispatch(ctx, r)
}

// dispatch sends r to the least-loaded ready replica, or parks it until one
// is ready.
func (d *deploymentActor) dispatch(ctx actor.Context, r *request) {
	var best *replicaSlot
	for _, s := range d.replicas {
		if s.dead || s.rebuilding || s.pid == nil {
			continue
		}
		if best == nil || s.inFlight < best.inFlight {
			best = s
		}
	}
	if best == nil {
		r.stage = stageWaitReplica
		d.waiting = append(d.waiting, r)
		return
	}
	r.stage = stageRunning
	r.replica = best.rep.index
	r.attempts++
	best.inFlight++
	ctx.Send(best.pid, &dispatch{exec: r.exec, replyTo: r.replyTo, name: d.spec.Name})
}

func (d *deploymentActor) onFinished(ctx actor.Context, m *runFinished) {
	if m.replica >= 0 && m.replica < len(d.replicas) {
		if s := d.replicas[m.replica]; s.inFlight > 0 {
			s.inFlight--
		}
	}
	r := d.requests[m.requestID]
	if r == nil {
		return
	}
	now := d.now()
	if m.err == nil {
		d.breaker.Record(now, nil, r.probe)
		r.probe = false
		d.env.observer.RequestDone(d.spec.Name, m.usage, m.costUSD, now.Sub(r.start))
		d.release(ctx, r, m.usage, m.costUSD)
		return
	}
	cls := runners.Classify(m.err)
	if m.fault != runners.CauseUnknown {
		cls.SessionFault, cls.Cause = true, m.fault
	}
	if cls.SessionFault && m.replica < len(d.replicas) {
		s := d.replicas[m.replica]
		if !s.rebuilding && !s.dead {
			ctx.Send(s.pid, &rebuildReplica{cause: cls.Cause})
		}
		s.rebuilding, s.lastCause, s.lastErr = true, cls.Cause, m.err.GetMessage()
	}
	if m.chunks > 0 {
		// The caller already has the in-band error from the pump.
		d.breaker.Record(now, m.err, r.probe)
		r.probe = false
		d.env.observer.RequestFailed(d.spec.Name, m.err)
		d.release(ctx, r, m.usage, m.costUSD)
		return
	}
	if m.err.GetScope() == "replica" && r.attempts < 3 && d.alive() {
		// The replica lost its session before starting the request: place
		// it on another one.
		d.dispatch(ctx, r)
		return
	}
	if cls.SessionFault && d.spec.Idempotent && r.attempts < 2 && m.err.GetCode() != runners.CodeCancelled {
		d.env.observer.Retried(d.spec.Name, cls.Cause)
		d.dispatch(ctx, r)
		return
	}
	d.breaker.Record(now, m.err, r.probe)
	r.probe = false
	if m.err.GetCode() == runners.CodeRateLimited && d.limiter != nil && m.err.GetRetryAfterMs() > 0 {
		ctx.Send(d.limiter, &messages.RateLimitFeedback{RetryAfterMs: m.err.GetRetryAfterMs(), RemainingRequests: -1, RemainingTokens: -1})
	}
	if cls.Fallback && d.fallback(ctx, r) {
		return
	}
	d.fail(ctx, r, m.err)
}

func (d *deploymentActor) onReplicaReady(ctx actor.Context, m *replicaReady) {
	if m.replica < 0 || m.replica >= len(d.replicas) {
		return
	}
	s := d.replicas[m.replica]
	if m.restarted {
		s.restarts++
		s.lastCause = m.cause
		d.env.observer.ReplicaRestarted(d.spec.Name, m.cause)
	}
	if m.err != nil {
		s.dead, s.lastErr = true, m.err.Error()
	} else {
		s.rebuilding = false
	}
	d.redispatch(ctx)
}

func (d *deploymentActor) onTerminated(ctx actor.Context, who *actor.PID) {
	for _, s := range d.replicas {
		if s.pid != nil && s.pid.Equal(who) {
			s.dead = true
			if s.lastErr == "" {
				s.lastErr = "stopped after too many restarts"
			}
			if !d.stopping {
				d.env.logger.Error("replica stopped", "deployment", d.spec.Name, "replica", s.rep.index)
			}
		}
	}
	d.redispatch(ctx)
}

// redispatch moves parked requests onto ready replicas, or fails them when
// no replica will ever be ready again.
func (d *deploymentActor) redispatch(ctx actor.Context) {
	parked := d.waiting
	d.waiting = nil
	alive := d.alive()
	for _, r := range parked {
		if _, ok := d.requests[r.exec.GetBatch().GetRequestId()]; !ok {
			continue
		}
		if !alive {
			d.fail(ctx, r, &messages.Error{Code: runners.CodeServerError, Scope: "replica",
				Message: "no healthy replica: every replica failed to rebuild its session"})
			continue
		}
		d.dispatch(ctx, r)
	}
	if !alive {
		for d.queue.Len() > 0 {
			r, _ := d.queue.Pop()
			d.fail(ctx, r, &messages.Error{Code: runners.CodeServerError, Scope: "replica",
				Message: "no healthy replica: every replica failed to rebuild its session"})
		}
	}
}

// drain admits queued requests while there is capacity.
func (d *deploymentActor) drain(ctx actor.Context) {
	for d.active < d.capacity() && d.queue.Len() > 0 {
		r, ok := d.queue.Pop()
		if !ok {
			return
		}
		if dl, ok := r.exec.GetBatch().Deadline(); ok && !dl.After(d.now()) {
			d.fail(ctx, r, &messages.Error{Code: runners.CodeTimeout, Scope: "queue", Message: "deadline passed while queued"})
			continue
		}
		d.admit(ctx, r)
	}
}

func (d *deploymentActor) onCancel(ctx actor.Context, id string) {
	r := d.requests[id]
	if r == nil {
		return
	}
	switch r.stage {
	case stageQueued:
		d.queue.Remove(id)
	case stagePermit:
		if d.limiter != nil {
			ctx.Send(d.limiter, &messages.PermitCancel{RequestId: id})
		}
	case stageRunning:
		// The runner stops at its next token; its pump reports the outcome.
		s := d.replicas[r.replica]
		ctx.Send(s.pid, &cancelRun{requestID: id})
		return
	case stageWaitReplica:
		for i, w := range d.waiting {
			if w == r {
				d.waiting = append(d.waiting[:i], d.waiting[i+1:]...)
				break
			}
		}
	}
	d.fail(ctx, r, &messages.Error{Code: runners.CodeCancelled, Message: "cancelled by the caller"})
}

func (d *deploymentActor) armExpiry(ctx actor.Context) {
	next, ok := d.queue.NextDeadline()
	if !ok {
		return
	}
	if d.expiry != nil && !d.expiryAt.After(next) {
		return
	}
	if d.expiry != nil {
		d.expiry.Stop()
	}
	self, system := ctx.Self(), ctx.ActorSystem()
	d.expiryAt = next
	d.expiry = d.env.clock.AfterFunc(next.Sub(d.now()), func() { system.Root.Send(self, &expireQueue{}) })
}

func (d *deploymentActor) expireQueued(ctx actor.Context) {
	for _, r := range d.queue.PopExpired(d.now()) {
		d.fail(ctx, r, &messages.Error{Code: runners.CodeTimeout, Scope: "queue", Message: "deadline passed while queued"})
	}
	d.armExpiry(ctx)
}

func (d *deploymentActor) onState(ctx actor.Context) {
	st := d.baseState()
	var futures []*actor.Future
	if d.limiter != nil {
		futures = append(futures, ctx.RequestFuture(d.limiter, &messages.StateQuery{}, 2*time.Second))
	}
	if d.budget != nil {
		futures = append(futures, ctx.RequestFuture(d.budget, &messages.StateQuery{}, 2*time.Second))
	}
	d.collect(ctx, st, futures)
}

// collect awaits the children's state replies one by one without blocking
// the mailbox, then responds.
func (d *deploymentActor) collect(ctx actor.Context, st *messages.DeploymentState, futures []*actor.Future) {
	if len(futures) == 0 {
		ctx.Respond(st)
		return
	}
	ctx.ReenterAfter(futures[0], func(res any, err error) {
		switch v := res.(type) {
		case *messages.LimiterState:
			st.Limiter = v
		case *messages.BudgetState:
			st.Budget = v
		}
		d.collect(ctx, st, futures[1:])
	})
}

func (d *deploymentActor) baseState() *messages.DeploymentState {
	now := d.now()
	st := &messages.DeploymentState{
		Name: d.spec.Name, Model: d.spec.Model, Runtime: d.spec.Runtime,
		QueueDepth: int64(d.queue.Len()), InFlight: int64(d.active),
		MaxConcurrent: int64(d.spec.MaxConcurrent), QueueSize: int64(d.spec.QueueSize),
		Breaker: d.breaker.State(now), ThrottleFactor: d.throttle,
	}
	for i, s := range d.replicas {
		rs := &messages.ReplicaState{Index: int32(i), Healthy: !s.dead && !s.rebuilding, InFlight: int64(s.inFlight),
			Restarts: s.restarts, LastError: s.lastErr}
		if s.lastCause != runners.CauseUnknown {
			rs.LastRebuildCause = s.lastCause.String()
		}
		if s.rep != nil && st.Transport == "" {
			st.Transport = s.rep.runner.TransportKind().String()
		}
		st.Healthy = st.Healthy || !s.dead
		st.Replicas = append(st.Replicas, rs)
	}
	return st
}

func durMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return (d + time.Millisecond - 1).Milliseconds()
}
