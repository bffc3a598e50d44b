package actors

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// routerActor routes requests over its members. It holds one record per
// request until the caller has the answer or the error; the chunks
// themselves never cross its mailbox (its taps forward them).
//
// Protocol:
//   - *messages.Execute: routes the batch; chunks (the first stamped with
//     a RouteInfo) or one terminal *messages.Error go to reply_to.
//   - *messages.Cancel: cancels the request on the member running it.
//   - *messages.EstimateCost: forwarded to the member the request would try
//     first, which answers the original reply-to.
type routerActor struct {
	spec       *RouterSpec
	env        *env
	esc        Escalation
	fallbackOn []runners.Code
	reqs       map[string]*routed
}

// member is one step of a request's plan.
type member struct {
	name    string
	tier    string
	maxCost float64
}

// routed is the router's record of one request.
type routed struct {
	id      string
	batch   *messages.ExecuteBatch
	visited []string
	replyTo *actor.PID
	plan    []member
	next    int // index in plan of the member being tried
	attempt int
	target  *actor.PID // the member running the current attempt
	route   *messages.RouteInfo
	errs    []*messages.Error // why each member before next did not serve
	// estimating: waiting for the current member's CostEstimate.
	estimating bool
	cancelled  bool
}

func newRouterActor(spec *RouterSpec, e *env) *routerActor {
	fb := spec.FallbackOn
	if fb == nil {
		fb = DefaultFallbackOn()
	}
	return &routerActor{spec: spec, env: e, esc: spec.Escalation.withDefaults(), fallbackOn: fb, reqs: map[string]*routed{}}
}

// Receive implements actor.Actor.
func (a *routerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Execute:
		a.onExecute(ctx, m)
	case *messages.Cancel:
		a.onCancel(ctx, m.GetRequestId())
	case *messages.CostEstimate:
		a.onEstimate(ctx, m)
	case *messages.EstimateCost:
		a.forwardEstimate(ctx, m)
	case *tapFailed:
		if r := a.current(m.id, m.attempt); r != nil {
			a.onFailed(ctx, r, m.err, m.outcome)
		}
	case *tapEscalate:
		if r := a.current(m.id, m.attempt); r != nil {
			if m.cancel {
				ctx.Send(r.target, &messages.Cancel{RequestId: r.id})
			}
			if r.cancelled {
				a.fail(ctx, r, &messages.Error{Code: runners.CodeCancelled, Message: "cancelled by the caller"}, "cancelled")
				return
			}
			a.moveOn(ctx, r, m.outcome, nil)
		}
	case *tapDone:
		if r := a.current(m.id, m.attempt); r != nil {
			delete(a.reqs, r.id)
		}
	}
}

// current returns the record of request id when attempt is its current
// attempt (and it is not waiting for an estimate), or nil: outcomes of
// earlier attempts are stale.
func (a *routerActor) current(id string, attempt int) *routed {
	r := a.reqs[id]
	if r == nil || r.attempt != attempt || r.estimating {
		return nil
	}
	return r
}

func (a *routerActor) onExecute(ctx actor.Context, m *messages.Execute) {
	replyTo := ToActorPID(m.GetReplyTo())
	if replyTo == nil {
		replyTo = ctx.Sender()
	}
	if replyTo == nil {
		a.env.logger.Warn("execute without reply-to dropped", "router", a.spec.Name)
		return
	}
	b := m.GetBatch()
	if b == nil || b.GetRequestId() == "" {
		ctx.Send(replyTo, &messages.Error{Code: runners.CodeBadRequest, Deployment: a.spec.Name,
			Message: "execute needs a batch with a request id"})
		return
	}
	id := b.GetRequestId()
	if _, dup := a.reqs[id]; dup {
		ctx.Send(replyTo, &messages.Error{Code: runners.CodeBadRequest, Deployment: a.spec.Name, RequestId: id,
			Message: "a request with this id is already in flight"})
		return
	}
	plan, requested, err := a.plan(b)
	if err != nil {
		err.RequestId, err.Deployment = id, a.spec.Name
		ctx.Send(replyTo, err)
		a.env.observer.RequestFailed(a.spec.Name, err)
		return
	}
	// Members the request has been through already (a deployment fell
	// back to this router) are not tried again.
	plan = slices.DeleteFunc(plan, func(mb member) bool { return slices.Contains(m.GetVisited(), mb.name) })
	if len(plan) == 0 {
		err := &messages.Error{Code: runners.CodeServerError, Scope: "router", RequestId: id, Deployment: a.spec.Name,
			Message: fmt.Sprintf("every member of router %q was already tried", a.spec.Name)}
		ctx.Send(replyTo, err)
		a.env.observer.RequestFailed(a.spec.Name, err)
		return
	}
	r := &routed{id: id, batch: b, replyTo: replyTo, plan: plan,
		visited: append(slices.Clip(m.GetVisited()), a.spec.Name),
		route:   &messages.RouteInfo{Router: a.spec.Name, Kind: a.spec.Kind.String(), Requested: requested}}
	a.reqs[id] = r
	a.try(ctx, r)
}

// plan returns the members a request tries, in order, and the tier it
// asked for.
func (a *routerActor) plan(b *messages.ExecuteBatch) ([]member, string, *messages.Error) {
	s := a.spec
	// "router/tier"; a request handed over by a deployment's fallback list
	// carries that deployment's name instead.
	suffix, hasSuffix := strings.CutPrefix(b.GetModel(), s.Name+"/")
	if s.Kind != RouterTiered {
		if b.GetTier() != "" || hasSuffix {
			return nil, "", &messages.Error{Code: runners.CodeBadRequest,
				Message: fmt.Sprintf("router %q is a %s router: it has no tiers", s.Name, s.Kind)}
		}
		out := make([]member, len(s.Members))
		for i, n := range s.Members {
			out[i] = member{name: n}
		}
		return out, "", nil
	}
	tier := b.GetTier()
	if tier == "" && hasSuffix {
		tier = suffix
	}
	if tier == "" {
		tier = s.DefaultTier
	}
	if tier == "" {
		tier = s.Tiers[0].Name
	}
	at := slices.IndexFunc(s.Tiers, func(t Tier) bool { return t.Name == tier })
	if at < 0 {
		names := make([]string, len(s.Tiers))
		for i, t := range s.Tiers {
			names[i] = t.Name
		}
		return nil, "", &messages.Error{Code: runners.CodeBadRequest,
			Message: fmt.Sprintf("router %q has no tier %q (tiers: %s)", s.Name, tier, strings.Join(names, ", "))}
	}
	out := make([]member, 0, len(s.Tiers)-at)
	for _, t := range s.Tiers[at:] {
		out = append(out, member{name: t.Member, tier: t.Name, maxCost: t.MaxCostUSD})
	}
	return out, tier, nil
}

// try moves r to its member at r.next: asks a tier for its estimate first,
// or starts the attempt.
func (a *routerActor) try(ctx actor.Context, r *routed) {
	if r.next >= len(r.plan) {
		a.exhausted(ctx, r)
		return
	}
	m := r.plan[r.next]
	pid := a.env.lookup(m.name)
	if pid == nil {
		a.moveOn(ctx, r, OutcomeNotFound, &messages.Error{Code: runners.CodeNotFound, Deployment: m.name,
			Message: fmt.Sprintf("router member %q does not exist", m.name)})
		return
	}
	r.target = pid
	last := r.next == len(r.plan)-1
	if a.spec.Kind == RouterTiered && (a.costCap(r, m) > 0 || !last) {
		// Estimate (and, with a cheaper tier to go to, check the member's
		// budget) before spending a rate-limit permit there.
		r.estimating = true
		ctx.Send(pid, &messages.EstimateCost{Batch: memberBatch(r.batch, m.name), ReplyTo: FromActorPID(ctx.Self()), CheckBudget: !last})
		return
	}
	a.start(ctx, r, pid)
}

// costCap is the request's per-request budget at member m.
func (a *routerActor) costCap(r *routed, m member) float64 {
	if c := r.batch.GetMaxCostUsd(); c > 0 {
		return c
	}
	return m.maxCost
}

func (a *routerActor) onEstimate(ctx actor.Context, e *messages.CostEstimate) {
	r := a.reqs[e.GetRequestId()]
	if r == nil || !r.estimating {
		return
	}
	r.estimating = false
	m := r.plan[r.next]
	capUSD := a.costCap(r, m)
	switch {
	case capUSD > 0 && e.GetUnknown():
		a.moveOn(ctx, r, OutcomeCostUnknown, &messages.Error{Code: runners.CodeBudgetExceeded, Scope: "request", Deployment: m.name,
			Message: fmt.Sprintf("the cost on %q is unknown and the request allows at most $%.6f", m.name, capUSD)})
	case capUSD > 0 && e.GetUsd() > capUSD:
		a.moveOn(ctx, r, OutcomeOverRequestBudget, &messages.Error{Code: runners.CodeBudgetExceeded, Scope: "request", Deployment: m.name,
			Message: fmt.Sprintf("estimated cost $%.6f on %q exceeds the request's max cost $%.6f", e.GetUsd(), m.name, capUSD)})
	case e.GetBudgetError() != nil:
		a.moveOn(ctx, r, OutcomeBudgetWouldReject, e.GetBudgetError())
	default:
		a.start(ctx, r, r.target)
	}
}

// start sends the attempt at r.plan[r.next] to pid, with a tap as reply-to.
func (a *routerActor) start(ctx actor.Context, r *routed, pid *actor.PID) {
	m := r.plan[r.next]
	r.attempt++
	route := &messages.RouteInfo{Router: r.route.GetRouter(), Kind: r.route.GetKind(), Member: m.name, Tier: m.tier,
		Requested: r.route.GetRequested(), Reason: OutcomeRequested,
		Steps: append(slices.Clip(r.route.GetSteps()), &messages.RouteStep{Member: m.name, Tier: m.tier, Outcome: OutcomeServed})}
	if n := len(r.route.GetSteps()); n > 0 {
		route.Reason = r.route.GetSteps()[n-1].GetOutcome()
	}
	buffer := a.spec.Kind == RouterCascade && r.next < len(r.plan)-1
	t := newTap(ctx.ActorSystem(), &tap{router: ctx.Self(), caller: r.replyTo, id: r.id, attempt: r.attempt,
		buffer: buffer, esc: &a.esc, route: route, obs: a.env.observer})
	visited := slices.Clip(r.visited)
	for _, s := range r.route.GetSteps() {
		visited = append(visited, s.GetMember())
	}
	ctx.Send(pid, &messages.Execute{Batch: memberBatch(r.batch, m.name), ReplyTo: FromActorPID(t.pid), Visited: visited})
}

// memberBatch returns b addressed to the member name: a shallow copy
// (the messages are shared, read-only) with the model set to the member
// and the tier consumed.
func memberBatch(b *messages.ExecuteBatch, name string) *messages.ExecuteBatch {
	nb := &messages.ExecuteBatch{}
	dst := nb.ProtoReflect()
	b.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	nb.Model, nb.Tier = name, ""
	return nb
}

func (a *routerActor) fallsBackOn(code runners.Code) bool {
	return slices.Contains(a.fallbackOn, code)
}

// onFailed decides after an attempt failed before the caller saw any of it.
func (a *routerActor) onFailed(ctx actor.Context, r *routed, err *messages.Error, outcome string) {
	switch {
	case r.cancelled:
		a.fail(ctx, r, err, err.GetCode().Slug())
	case outcome == OutcomeEscalatedTruncated && err.GetCode() != runners.CodeCancelled,
		a.fallsBackOn(err.GetCode()):
		a.moveOn(ctx, r, outcome, err)
	default:
		a.fail(ctx, r, err, outcome)
	}
}

// moveOn records why the current member did not serve r and tries the next.
func (a *routerActor) moveOn(ctx actor.Context, r *routed, outcome string, err *messages.Error) {
	m := r.plan[r.next]
	r.route.Steps = append(r.route.Steps, &messages.RouteStep{Member: m.name, Tier: m.tier, Outcome: outcome})
	if err == nil {
		err = &messages.Error{Code: runners.CodeInternal, Deployment: m.name, Message: "answer rejected: " + outcome}
	}
	r.errs = append(r.errs, err)
	r.next++
	if r.next < len(r.plan) {
		a.env.observer.Rerouted(a.spec.Name, m.name, r.plan[r.next].name, outcome)
	}
	a.try(ctx, r)
}

// fail ends r with err and reports it.
func (a *routerActor) fail(ctx actor.Context, r *routed, err *messages.Error, reason string) {
	err.RequestId = r.id
	if err.Deployment == "" {
		err.Deployment = a.spec.Name
	}
	delete(a.reqs, r.id)
	a.env.observer.Routed(a.spec.Name, "", reason)
	a.env.observer.RequestFailed(a.spec.Name, err)
	ctx.Send(r.replyTo, err)
}

// cooling reports whether e says its member will take requests again after
// a known wait.
func cooling(e *messages.Error) bool {
	switch e.GetCode() {
	case runners.CodeRateLimited, runners.CodeCircuitOpen, runners.CodeBackpressure, runners.CodeBudgetExceeded:
		return e.GetRetryAfterMs() > 0
	}
	return false
}

// exhausted ends a request no member served. When every member is cooling
// down, the caller gets one error with the earliest Retry-After: rate_limited
// when any member was rate limited, else the code of the earliest. Otherwise
// it gets the last member's error.
func (a *routerActor) exhausted(ctx actor.Context, r *routed) {
	reason := "exhausted"
	if n := len(r.route.GetSteps()); n > 0 {
		reason = r.route.GetSteps()[n-1].GetOutcome()
	}
	if len(r.errs) == 0 {
		a.fail(ctx, r, &messages.Error{Code: runners.CodeInternal, Message: "router has no members"}, reason)
		return
	}
	all := true
	var earliest *messages.Error
	limited := false
	for _, e := range r.errs {
		if !cooling(e) {
			all = false
			break
		}
		limited = limited || e.GetCode() == runners.CodeRateLimited
		if earliest == nil || e.GetRetryAfterMs() < earliest.GetRetryAfterMs() {
			earliest = e
		}
	}
	if !all {
		last := r.errs[len(r.errs)-1]
		out := &messages.Error{Code: last.GetCode(), Message: last.GetMessage(), Provider: last.GetProvider(),
			RetryAfterMs: last.GetRetryAfterMs(), Deployment: last.GetDeployment(), Scope: last.GetScope(),
			HttpStatus: last.GetHttpStatus(), ResetsAtUnixNano: last.GetResetsAtUnixNano()}
		if len(r.errs) > 1 {
			out.Message = fmt.Sprintf("no member of router %q could serve the request; last: %s", a.spec.Name, last.GetMessage())
		}
		a.fail(ctx, r, out, reason)
		return
	}
	code := earliest.GetCode()
	if limited {
		code = runners.CodeRateLimited
	}
	var b strings.Builder
	fmt.Fprintf(&b, "every member of router %q is cooling down:", a.spec.Name)
	for i, e := range r.errs {
		fmt.Fprintf(&b, " %s %s (retry after %s)", r.route.GetSteps()[i].GetMember(), e.GetCode().Slug(), e.RetryAfter())
		if i < len(r.errs)-1 {
			b.WriteString(";")
		}
	}
	a.fail(ctx, r, &messages.Error{Code: code, Scope: "router", Deployment: a.spec.Name,
		RetryAfterMs: earliest.GetRetryAfterMs(), Message: b.String()}, reason)
}

func (a *routerActor) onCancel(ctx actor.Context, id string) {
	r := a.reqs[id]
	if r == nil || r.cancelled {
		return
	}
	r.cancelled = true
	if r.estimating || r.attempt == 0 {
		r.estimating = false
		a.fail(ctx, r, &messages.Error{Code: runners.CodeCancelled, Message: "cancelled by the caller"}, "cancelled")
		return
	}
	// The member answers with cancelled (or its in-band error) via the tap.
	ctx.Send(r.target, &messages.Cancel{RequestId: id})
}

// forwardEstimate answers EstimateCost for the member a request would try
// first, so that routers nest as members of tiered routers.
func (a *routerActor) forwardEstimate(ctx actor.Context, m *messages.EstimateCost) {
	to := replyTarget(m.GetReplyTo(), ctx.Sender())
	plan, _, err := a.plan(m.GetBatch())
	var pid *actor.PID
	if err == nil && len(plan) > 0 {
		pid = a.env.lookup(plan[0].name)
	}
	if pid == nil {
		if to != nil {
			ctx.Send(to, &messages.CostEstimate{RequestId: m.GetBatch().GetRequestId(), Deployment: a.spec.Name, Unknown: true})
		}
		return
	}
	ctx.Send(pid, &messages.EstimateCost{Batch: memberBatch(m.GetBatch(), plan[0].name), ReplyTo: FromActorPID(to), CheckBudget: m.GetCheckBudget()})
}
