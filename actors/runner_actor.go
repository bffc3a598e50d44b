package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// replica is the part of a RunnerActor that survives its restarts: the
// runner itself, the cancel functions of its running requests, and the
// cause of the pending session rebuild. Only the actor's goroutine touches
// pending; active is shared with the stream pumps.
type replica struct {
	index   int
	runner  runners.ModelRunner
	logger  *slog.Logger
	pending runners.SessionRebuildCause
	started bool
	pumps   *goPool

	mu     sync.Mutex
	active map[string]context.CancelFunc
}

// dispatch asks a RunnerActor to run one admitted request.
type dispatch struct {
	exec    *messages.Execute
	replyTo *actor.PID
	name    string // deployment name, stamped on first and last chunk
}

// runFinished reports the end of a request to the deployment.
type runFinished struct {
	requestID string
	replica   int
	usage     *messages.Usage
	costUSD   float64 // negative: unknown (the budget charges the reservation)
	chunks    int
	err       *messages.Error // nil on success
	fault     runners.SessionRebuildCause
}

// replicaReady reports that a replica (re)started and can take work.
type replicaReady struct {
	replica   int
	restarted bool
	cause     runners.SessionRebuildCause
	err       error // the rebuild failed: the replica is unhealthy
}

// cancelRun cancels one running request.
type cancelRun struct{ requestID string }

// rebuildReplica asks a RunnerActor to rebuild its session.
type rebuildReplica struct{ cause runners.SessionRebuildCause }

// rebuildTimeout bounds one RebuildSession call.
const rebuildTimeout = 5 * time.Minute

// runnerActor owns one ModelRunner. It starts requests (runner.Execute
// returns as soon as work is dispatched) and hands each stream to a pump
// goroutine that sends the chunks straight to the caller's reply-to. A
// session fault makes it panic with *runners.SessionFault; its supervisor
// restarts it, and on restart it rebuilds the session before taking work.
type runnerActor struct {
	rep        *replica
	rebuilding bool
	stash      []*dispatch // work that arrived during a rebuild
}

// rebuilt reports the end of a rebuild run off the actor's goroutine.
type rebuilt struct {
	cause runners.SessionRebuildCause
	err   error
}

func newRunnerProps(rep *replica) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &runnerActor{rep: rep} })
}

func (a *runnerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *dispatch:
		if a.rebuilding {
			a.stash = append(a.stash, m)
			return
		}
		a.execute(ctx, m)
	case *rebuilt:
		a.onRebuilt(ctx, m)
	case *cancelRun:
		a.rep.mu.Lock()
		cancel := a.rep.active[m.requestID]
		a.rep.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case *rebuildReplica:
		if a.rebuilding {
			return // one rebuild at a time; the one under way covers this
		}
		a.fail(m.cause, errors.New("rebuild requested"))
	}
}

// fail records the cause and panics so the supervisor restarts the actor.
func (a *runnerActor) fail(cause runners.SessionRebuildCause, err error) {
	a.rep.pending = cause
	panic(&runners.SessionFault{Cause: cause, Err: err})
}

func (a *runnerActor) started(ctx actor.Context) {
	rep := a.rep
	if !rep.started {
		rep.started = true
		return
	}
	// Restarted after a session fault: rebuild before taking work. The
	// rebuild (reloading weights, re-reading credentials) may take long, so
	// it runs off the actor's goroutine; work that arrives meanwhile waits.
	cause := rep.pending
	rep.pending = runners.CauseUnknown
	a.rebuilding = true
	self, system := ctx.Self(), ctx.ActorSystem()
	go func() {
		rctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		err := safeRebuild(rctx, rep.runner, cause)
		if err == nil {
			if h, ok := rep.runner.(runners.Healther); ok {
				err = h.Healthy(rctx)
			}
		}
		system.Root.Send(self, &rebuilt{cause: cause, err: err})
	}()
}

func (a *runnerActor) onRebuilt(ctx actor.Context, m *rebuilt) {
	rep := a.rep
	if m.err != nil {
		rep.logger.Warn("session rebuild failed", "replica", rep.index, "cause", m.cause.String(), "error", m.err)
	} else {
		rep.logger.Info("session rebuilt", "replica", rep.index, "cause", m.cause.String())
	}
	a.rebuilding = false
	ctx.Send(ctx.Parent(), &replicaReady{replica: rep.index, restarted: true, cause: m.cause, err: m.err})
	stash := a.stash
	a.stash = nil
	for _, d := range stash {
		if m.err != nil {
			// The session is gone: hand the work back as a failure before
			// its first chunk, so the deployment can place it elsewhere.
			ctx.Send(ctx.Parent(), &runFinished{requestID: d.exec.GetBatch().GetRequestId(), replica: rep.index,
				err: &messages.Error{Code: runners.CodeServerError, Scope: "replica", Message: "replica session rebuild failed"}})
			continue
		}
		a.execute(ctx, d)
	}
}

func safeRebuild(ctx context.Context, r runners.ModelRunner, cause runners.SessionRebuildCause) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("RebuildSession panicked: %v", p)
		}
	}()
	return r.RebuildSession(ctx, cause)
}

func safeExecute(ctx context.Context, r runners.ModelRunner, b *messages.ExecuteBatch) (h runners.RunHandle, err error) {
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, runners.Errorf(runners.CodeInternal, "runner panicked: %v", p)
		}
	}()
	return r.Execute(ctx, b)
}

func (a *runnerActor) execute(ctx actor.Context, d *dispatch) {
	rep := a.rep
	batch := d.exec.GetBatch()
	id := batch.GetRequestId()
	rctx, cancel := context.WithCancel(context.Background())
	if dl, ok := batch.Deadline(); ok {
		rctx, cancel = context.WithDeadline(context.Background(), dl)
	}
	rep.mu.Lock()
	rep.active[id] = cancel
	rep.mu.Unlock()
	// Execute runs on the pump's goroutine: a remote runner's Execute waits
	// for the upstream's response headers, which may take long, and must not
	// hold up this replica's other requests.
	p := &pump{
		system: ctx.ActorSystem(), parent: ctx.Parent(), rctx: rctx, batch: batch,
		rep: rep, cancel: cancel, replyTo: d.replyTo, requestID: id, name: d.name,
	}
	rep.pumps.Go(p.run)
}

func (r *replica) forget(id string) {
	r.mu.Lock()
	delete(r.active, id)
	r.mu.Unlock()
}

func typed(err error, requestID string) *messages.Error {
	e := runners.AsError(err)
	if e.GetRequestId() == "" {
		e.RequestId = requestID
	}
	return e
}

// pump moves one stream's chunks from the runner to the caller. Chunks go
// straight to the reply-to PID; the outcome goes to the deployment. An error
// before the first chunk is not sent to the caller: the deployment decides
// whether to retry, fall back or deliver it.
type pump struct {
	system    *actor.ActorSystem
	parent    *actor.PID
	rep       *replica
	rctx      context.Context
	batch     *messages.ExecuteBatch
	cancel    context.CancelFunc
	replyTo   *actor.PID
	requestID string
	name      string
}

func (p *pump) run() {
	defer p.cancel()
	defer p.rep.forget(p.requestID)
	fin := &runFinished{requestID: p.requestID, replica: p.rep.index}
	h, err := safeExecute(p.rctx, p.rep.runner, p.batch)
	if err != nil {
		p.report(fin, err)
		return
	}
	defer h.Close()
	var seq uint32
	var last *messages.TokenChunk
	for {
		c, err := h.Recv()
		if err == nil {
			if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
				last = c
				break
			}
			seq++
			c.RequestId, c.Seq = p.requestID, seq
			if seq == 1 {
				c.Deployment = p.name
			}
			p.system.Root.Send(p.replyTo, c)
			fin.chunks++
			continue
		}
		if errors.Is(err, io.EOF) {
			err = runners.Errorf(runners.CodeInternal, "runner ended the stream without a finish reason")
		}
		p.report(fin, err)
		return
	}
	seq++
	last.RequestId, last.Seq, last.Deployment = p.requestID, seq, p.name
	fin.usage, fin.costUSD = last.GetUsage(), last.GetCostUsd()
	if last.GetCostUnknown() {
		fin.costUSD = -1 // the budget charges the reservation
	}
	fin.chunks++
	p.system.Root.Send(p.replyTo, last)
	p.system.Root.Send(p.parent, fin)
}

// report ends a failed stream. A session fault is reported to the
// deployment, which marks the replica as rebuilding and then asks it to
// rebuild, so the replica's "ready" can never overtake the fault. After the
// first chunk the error also goes to the caller, in-band.
func (p *pump) report(fin *runFinished, err error) {
	e := typed(err, p.requestID)
	if cls := runners.Classify(err); cls.SessionFault {
		fin.fault = cls.Cause
	}
	fin.err = e
	if fin.chunks > 0 {
		e.AfterFirstChunk = true
		p.system.Root.Send(p.replyTo, e)
	}
	p.system.Root.Send(p.parent, fin)
}
