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
	costUSD   float64
	chunks    int
	err       *messages.Error // nil on success
	fault     runners.SessionRebuildCause
	// restarting: the runner actor has already failed itself for fault
	// (the fault surfaced in Execute); otherwise the deployment asks it to.
	restarting bool
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
	rep *replica
}

func newRunnerProps(rep *replica) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &runnerActor{rep: rep} })
}

func (a *runnerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *dispatch:
		a.execute(ctx, m)
	case *cancelRun:
		a.rep.mu.Lock()
		cancel := a.rep.active[m.requestID]
		a.rep.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	case *rebuildReplica:
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
	cause := rep.pending
	rep.pending = runners.CauseUnknown
	rctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
	err := safeRebuild(rctx, rep.runner, cause)
	cancel()
	if err == nil {
		if h, ok := rep.runner.(runners.Healther); ok {
			hctx, hcancel := context.WithTimeout(context.Background(), rebuildTimeout)
			err = h.Healthy(hctx)
			hcancel()
		}
	}
	if err != nil {
		rep.logger.Warn("session rebuild failed", "replica", rep.index, "cause", cause.String(), "error", err)
	} else {
		rep.logger.Info("session rebuilt", "replica", rep.index, "cause", cause.String())
	}
	ctx.Send(ctx.Parent(), &replicaReady{replica: rep.index, restarted: true, cause: cause, err: err})
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

	h, err := safeExecute(rctx, rep.runner, batch)
	if err != nil {
		rep.forget(id)
		cancel()
		cls := runners.Classify(err)
		fin := &runFinished{requestID: id, replica: rep.index, err: typed(err, id)}
		if cls.SessionFault {
			fin.fault, fin.restarting = cls.Cause, true
		}
		ctx.Send(ctx.Parent(), fin)
		if cls.SessionFault {
			a.fail(cls.Cause, err)
		}
		return
	}
	p := &pump{
		system: ctx.ActorSystem(), parent: ctx.Parent(),
		rep: rep, h: h, cancel: cancel, replyTo: d.replyTo, requestID: id, name: d.name,
	}
	go p.run()
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
	h         runners.RunHandle
	cancel    context.CancelFunc
	replyTo   *actor.PID
	requestID string
	name      string
}

func (p *pump) run() {
	defer p.cancel()
	defer p.h.Close()
	defer p.rep.forget(p.requestID)
	fin := &runFinished{requestID: p.requestID, replica: p.rep.index}
	var seq uint32
	var last *messages.TokenChunk
	for {
		c, err := p.h.Recv()
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
		e := typed(err, p.requestID)
		cls := runners.Classify(err)
		if cls.SessionFault {
			// The deployment asks the replica to rebuild, so that it has
			// marked the replica as rebuilding before the replica reports
			// ready again.
			fin.fault = cls.Cause
		}
		fin.err = e
		if fin.chunks > 0 {
			e.AfterFirstChunk = true
			p.system.Root.Send(p.replyTo, e)
		}
		p.system.Root.Send(p.parent, fin)
		return
	}
	seq++
	last.RequestId, last.Seq, last.Deployment = p.requestID, seq, p.name
	fin.usage, fin.costUSD = last.GetUsage(), last.GetCostUsd()
	fin.chunks++
	p.system.Root.Send(p.replyTo, last)
	p.system.Root.Send(p.parent, fin)
}
