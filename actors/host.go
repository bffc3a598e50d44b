package actors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Directory maps deployment names to PIDs. It is filled when deployments
// are spawned and read by deployments (fallback) and callers. Safe for
// concurrent use.
type Directory struct {
	mu   sync.RWMutex
	pids map[string]*actor.PID
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory { return &Directory{pids: map[string]*actor.PID{}} }

// Lookup returns the PID of name, or nil.
func (d *Directory) Lookup(name string) *actor.PID {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.pids[name]
}

// Register sets the PID of name.
func (d *Directory) Register(name string, pid *actor.PID) {
	d.mu.Lock()
	d.pids[name] = pid
	d.mu.Unlock()
}

// Names returns the registered names, sorted.
func (d *Directory) Names() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.pids))
	for n := range d.pids {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Observer receives the events metrics are made of. Implementations must be
// safe for concurrent use and fast: they run on actor goroutines.
type Observer interface {
	RequestDone(deployment string, usage *messages.Usage, costUSD float64, d time.Duration)
	RequestFailed(deployment string, err *messages.Error)
	Retried(deployment string, cause runners.SessionRebuildCause)
	ReplicaRestarted(deployment string, cause runners.SessionRebuildCause)
	Fallback(from, to string)
	// Routed reports which member of router serves a request (member "" when
	// none could) and why: reason is a bounded slug (RouteInfo.reason).
	Routed(router, member, reason string)
	// Rerouted reports a router moving a request from one member to the
	// next before the caller saw any of it; reason is the outcome slug of
	// from (RouteStep.outcome).
	Rerouted(router, from, to, reason string)
}

// NopObserver ignores every event.
type NopObserver struct{}

// RequestDone implements Observer.
func (NopObserver) RequestDone(string, *messages.Usage, float64, time.Duration) {}

// RequestFailed implements Observer.
func (NopObserver) RequestFailed(string, *messages.Error) {}

// Retried implements Observer.
func (NopObserver) Retried(string, runners.SessionRebuildCause) {}

// ReplicaRestarted implements Observer.
func (NopObserver) ReplicaRestarted(string, runners.SessionRebuildCause) {}

// Fallback implements Observer.
func (NopObserver) Fallback(string, string) {}

// Routed implements Observer.
func (NopObserver) Routed(string, string, string) {}

// Rerouted implements Observer.
func (NopObserver) Rerouted(string, string, string, string) {}

// HostOptions configure a Host. The zero value uses the real clock, a
// discarding logger and no observer.
type HostOptions struct {
	Clock    clock.Clock
	Logger   *slog.Logger
	Observer Observer
	// Dispatcher runs the deployments' mailboxes; nil means a PoolDispatcher
	// with GOMAXPROCS workers, owned (and stopped) by the Host.
	Dispatcher actor.Dispatcher
	// Placement, when set, places deployments outside this actor system (a
	// cluster) and resolves their names; nil means every deployment is
	// spawned here and found in the Directory.
	Placement Placement
}

// Host runs deployments in one actor system and is the in-process entry
// point to them: it starts requests, reads state and sends admin commands.
// Safe for concurrent use.
type Host struct {
	system *actor.ActorSystem
	env    *env
	specs  map[string]*DeploymentSpec
	order  []string
	// routers lists the spawned routers in spawn order (see SpawnRouter).
	routers []*RouterSpec
	seq     atomic.Uint64
	pool    *PoolDispatcher // owned; nil when the caller gave a dispatcher
	place   Placement       // nil: local only
}

// NewHost returns a host on system with no deployments.
func NewHost(system *actor.ActorSystem, opts HostOptions) *Host {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Observer == nil {
		opts.Observer = NopObserver{}
	}
	h := &Host{
		system: system,
		env:    &env{clock: opts.Clock, logger: opts.Logger, directory: NewDirectory(), observer: opts.Observer},
		specs:  map[string]*DeploymentSpec{},
	}
	if opts.Dispatcher == nil {
		h.pool = NewPoolDispatcher(0, 0)
		opts.Dispatcher = h.pool
	}
	h.env.dispatcher = opts.Dispatcher
	h.env.pumps = newGoPool(30 * time.Second)
	h.place = opts.Placement
	h.env.place = opts.Placement
	return h
}

// System returns the actor system.
func (h *Host) System() *actor.ActorSystem { return h.system }

// Directory returns the name → PID directory of this host's deployments.
func (h *Host) Directory() *Directory { return h.env.directory }

// DeploymentProps returns the props of a deployment actor for spec. Hosts
// use it through Spawn; the cluster uses it to register a deployment kind.
func (h *Host) DeploymentProps(spec *DeploymentSpec) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		qs := spec.QueueSize
		if qs <= 0 {
			qs = 1024
		}
		return &deploymentActor{
			spec: spec, env: h.env,
			breaker:  NewBreaker(spec.Breaker),
			queue:    NewQueue[*request](qs),
			requests: map[string]*request{},
			throttle: 1,
		}
	}, actor.WithSupervisor(supervisorFor(spec.MaxRestarts, spec.RestartWindow)), actor.WithDispatcher(h.env.dispatcher))
}

// Spawn starts a deployment and registers it under spec.Name.
func (h *Host) Spawn(spec *DeploymentSpec) (*actor.PID, error) {
	if spec.Name == "" || spec.NewRunner == nil {
		return nil, fmt.Errorf("actors: deployment needs a name and a runner constructor")
	}
	if h.env.directory.Lookup(spec.Name) != nil || h.specs[spec.Name] != nil {
		return nil, fmt.Errorf("actors: deployment %q already spawned", spec.Name)
	}
	if h.place != nil {
		// The placement activates the deployment where it belongs; there
		// is no local PID to return.
		if err := h.place.Place(spec, h.DeploymentProps(spec)); err != nil {
			return nil, fmt.Errorf("actors: place deployment %q: %w", spec.Name, err)
		}
		h.specs[spec.Name] = spec
		h.order = append(h.order, spec.Name)
		return nil, nil
	}
	pid, err := h.system.Root.SpawnNamed(h.DeploymentProps(spec), "deployment/"+spec.Name)
	if err != nil {
		return nil, fmt.Errorf("actors: spawn deployment %q: %w", spec.Name, err)
	}
	h.env.directory.Register(spec.Name, pid)
	h.specs[spec.Name] = spec
	h.order = append(h.order, spec.Name)
	return pid, nil
}

// Names lists the spawned deployments in spawn order.
func (h *Host) Names() []string { return append([]string(nil), h.order...) }

// NewRequestID returns a process-unique request id.
func (h *Host) NewRequestID() string {
	return fmt.Sprintf("req-%x-%d", h.system.ID, h.seq.Add(1))
}

// Execute starts batch on the deployment named batch.Model and returns its
// stream. ctx bounds the caller's interest: when it ends, the request is
// cancelled down to the runner.
func (h *Host) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	pid := h.env.directory.Lookup(batch.GetModel())
	if pid == nil && h.place != nil && h.specs[batch.GetModel()] != nil {
		return h.executePlaced(ctx, batch)
	}
	if pid == nil {
		return nil, &messages.Error{Code: runners.CodeNotFound, Message: fmt.Sprintf("model %q does not exist", batch.GetModel())}
	}
	return h.ExecuteOn(ctx, pid, batch), nil
}

// ExecuteOn starts batch on the deployment at pid (any node).
func (h *Host) ExecuteOn(ctx context.Context, pid *actor.PID, batch *messages.ExecuteBatch) *Stream {
	if batch.GetRequestId() == "" {
		batch.RequestId = h.NewRequestID()
	}
	if dl, ok := ctx.Deadline(); ok && batch.GetDeadlineUnixNano() == 0 {
		batch.DeadlineUnixNano = dl.UnixNano()
	}
	var draining func(string) bool
	if h.place != nil {
		draining = h.place.Draining
	}
	s := newStream(ctx, h.system, pid, batch.GetRequestId(), draining)
	h.system.Root.Send(pid, &messages.Execute{Batch: batch, ReplyTo: FromActorPID(s.PID())})
	return s
}

// State returns one deployment's state.
func (h *Host) State(ctx context.Context, name string) (*messages.DeploymentState, error) {
	res, err := h.request(ctx, name, &messages.StateQuery{})
	if err != nil {
		return nil, err
	}
	st, ok := res.(*messages.DeploymentState)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected state reply %T", res)
	}
	return st, nil
}

// States returns every deployment's state, in spawn order.
func (h *Host) States(ctx context.Context) ([]*messages.DeploymentState, error) {
	out := make([]*messages.DeploymentState, 0, len(h.order))
	for _, n := range h.order {
		st, err := h.State(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Rebuild asks every replica of name to rebuild its session with cause.
func (h *Host) Rebuild(ctx context.Context, name string, cause runners.SessionRebuildCause) (int, error) {
	res, err := h.request(ctx, name, &messages.Rebuild{Cause: runners.CauseToWire(cause)})
	if err != nil {
		return 0, err
	}
	ack, _ := res.(*messages.RebuildAck)
	return int(ack.GetReplicas()), nil
}

// ForceOpen opens name's circuit breaker for d.
func (h *Host) ForceOpen(ctx context.Context, name string, d time.Duration) (*messages.BreakerState, error) {
	res, err := h.request(ctx, name, &messages.BreakerForceOpen{OpenForMs: d.Milliseconds()})
	if err != nil {
		return nil, err
	}
	st, _ := res.(*messages.BreakerState)
	return st, nil
}

func (h *Host) request(ctx context.Context, name string, msg any) (any, error) {
	pid := h.env.directory.Lookup(name)
	if pid == nil && h.place != nil && h.specs[name] != nil {
		var err error
		if pid, err = h.place.Resolve(ctx, name); err != nil {
			return nil, err
		}
	}
	if pid == nil {
		return nil, &messages.Error{Code: runners.CodeNotFound, Message: fmt.Sprintf("deployment %q does not exist", name)}
	}
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := h.system.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return nil, &messages.Error{Code: runners.CodeTimeout, Deployment: name, Message: "deployment did not answer: " + err.Error()}
	}
	return res, nil
}

// Stop stops every router and deployment and waits for them to finish.
func (h *Host) Stop() {
	h.stopRouters()
	for _, n := range h.order {
		if pid := h.env.directory.Lookup(n); pid != nil {
			_ = h.system.Root.StopFuture(pid).Wait()
		}
	}
}

// Close stops the deployments and the host's own dispatcher.
func (h *Host) Close() {
	h.Stop()
	if h.pool != nil {
		h.pool.Stop()
	}
}
