package actors

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Placement puts deployments somewhere other than the Host's own actor
// system — the cluster — and finds them again by name. A Host with a
// Placement (HostOptions.Placement) hands every spec to Place instead of
// spawning it, and resolves names through Resolve. Implementations must be
// safe for concurrent use.
type Placement interface {
	// Place takes over spec, whose activation is props (Host.DeploymentProps).
	// It is called once per deployment, before the placement starts.
	Place(spec *DeploymentSpec, props *actor.Props) error
	// Resolve returns the PID of deployment name's current activation,
	// activating it if needed. It blocks at most until ctx ends. Errors are
	// *messages.Error with scope "placement": server_error when no node
	// hosts name, timeout when its owner did not activate it in time.
	Resolve(ctx context.Context, name string) (*actor.PID, error)
	// Invalidate tells the placement that pid, returned by Resolve, no
	// longer serves name (its node is gone or it does not exist).
	Invalidate(name string, pid *actor.PID)
	// Draining reports whether the node at address is leaving gracefully:
	// it finishes the requests it holds after it has left the topology, so
	// its streams keep going when the connection to it is reported gone.
	Draining(address string) bool
	// Cached returns, without blocking, the PID Resolve last found for name
	// if it is still believed valid; otherwise nil, and it starts resolving
	// name in the background. Actors (routers, fallbacks) use it.
	Cached(name string) *actor.PID
}

// lookup finds name for an actor: in the Directory, else in the
// placement's cache (never blocking).
func (e *env) lookup(name string) *actor.PID {
	if pid := e.directory.Lookup(name); pid != nil {
		return pid
	}
	if e.place != nil {
		return e.place.Cached(name)
	}
	return nil
}

// ScopeMoved is the scope of the error a deployment activation that is
// handing off (its node is leaving; see Handoff) answers requests it has
// not admitted with. Nothing of such a request reached the runner, so it
// may be placed on the next activation whatever the deployment's
// idempotency.
const ScopeMoved = "moved"

// Handoff tells a deployment activation that its node is leaving the
// cluster and that callers now resolve the deployment to another node. The
// activation fails every request it has not admitted yet (queued, or
// waiting for a rate-limit permit) and every new Execute with a network
// error of scope ScopeMoved, so that callers move them to the next
// activation and only one limiter admits new work; admitted requests run
// to completion. It is a Go struct: the cluster sends it to activations on
// its own node only.
type Handoff struct{}

func movedError(deployment, requestID string) *messages.Error {
	return &messages.Error{Code: runners.CodeNetwork, Scope: ScopeMoved, Deployment: deployment, RequestId: requestID,
		Message: "the deployment is moving to another node; the request was not started"}
}

// onHandoff fails the requests not admitted yet (see Handoff).
func (d *deploymentActor) onHandoff(ctx actor.Context) {
	d.handoff = true
	for d.queue.Len() > 0 {
		r, _ := d.queue.Pop()
		d.fail(ctx, r, movedError(d.spec.Name, r.exec.GetBatch().GetRequestId()))
	}
	for id, r := range d.requests {
		if r.stage != stagePermit {
			continue
		}
		if d.limiter != nil {
			ctx.Send(d.limiter, &messages.PermitCancel{RequestId: id})
		}
		d.fail(ctx, r, movedError(d.spec.Name, id))
	}
}

// maxOwnerRetries bounds how often one request moves to a new activation
// after its owner went away before the first chunk.
const maxOwnerRetries = 2

// executePlaced starts batch on a placed deployment and returns a handle
// that moves the request to the deployment's next activation when the
// owner's node dies before any chunk arrived (idempotent deployments only).
func (h *Host) executePlaced(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	name := batch.GetModel()
	pid, err := h.place.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	s := h.ExecuteOn(ctx, pid, batch)
	return &placedStream{h: h, ctx: ctx, name: name, batch: batch, cur: s, idempotent: h.specs[name].Idempotent}, nil
}

// placedStream is the RunHandle of a request on a placed deployment.
type placedStream struct {
	h     *Host
	ctx   context.Context
	name  string
	batch *messages.ExecuteBatch
	cur   *Stream
	got   bool // a chunk reached the caller: no more moves
	moves int
	// idempotent allows moving a request whose owner died: it may have
	// reached the upstream already. A ScopeMoved request never did.
	idempotent bool
}

// Recv implements runners.RunHandle.
func (p *placedStream) Recv() (*messages.TokenChunk, error) {
	for {
		c, err := p.cur.Recv()
		if err == nil {
			p.got = true
			return c, nil
		}
		var e *messages.Error
		if p.got || p.moves >= maxOwnerRetries || p.ctx.Err() != nil || !errors.As(err, &e) ||
			!(e.GetScope() == ScopeMoved || (e.GetScope() == ScopeOwner && p.idempotent)) {
			return nil, err
		}
		p.h.place.Invalidate(p.name, p.cur.target)
		pid, rerr := p.h.place.Resolve(p.ctx, p.name)
		if rerr != nil {
			return nil, err
		}
		_ = p.cur.Close()
		p.moves++
		p.cur = p.h.ExecuteOn(p.ctx, pid, p.batch)
	}
}

// Close implements runners.RunHandle.
func (p *placedStream) Close() error { return p.cur.Close() }
