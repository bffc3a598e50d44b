package actors

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Stream is the caller's end of one request: a lightweight process (no
// mailbox, no goroutine) whose PID is the request's reply-to — the node's
// stream hub, which routes by request id, or a process of its own when the
// target is on another node or the request id is already waited for. TokenChunk and Error messages sent to it,
// from this node or from any other, are delivered to Recv in order.
//
// Stream implements runners.RunHandle: Recv returns chunks, io.EOF after
// the chunk carrying a finish reason, or the typed *messages.Error that
// ended the request. Close (or cancelling the context given to Recv)
// withdraws the request: the deployment cancels it down to the runner.
//
// When the target is on another node, the stream never blocks its sender
// (a remote endpoint reader delivering for every request on that
// connection): messages beyond the buffer wait in an unbounded overflow, in
// order. It also watches the target: if the target's node goes down (the
// remote endpoint terminates, and the node had not announced a graceful
// leave) or the target does not exist, Recv returns a *messages.Error with
// code network and scope ScopeOwner at once instead of waiting for the
// deadline. A target that stops is not an error: its runners finish what
// they started.
//
// Recv is not safe for concurrent use; Close may be called from any
// goroutine, more than once.
type Stream struct {
	system    *actor.ActorSystem
	pid       *actor.PID
	target    *actor.PID // where Cancel goes
	requestID string
	ctx       context.Context

	ch     chan any
	closed chan struct{}
	once   sync.Once
	done   atomic.Bool // a terminal message was received by Recv

	hub      *streamHub                // local target: the hub routes our messages
	remote   bool                      // target is on another node
	draining func(address string) bool // nil: a gone node is always an error
	mu       sync.Mutex                // guards overflow
	overflow []any                     // remote mode: messages that did not fit in ch, in order
}

// ScopeOwner is the scope of the error a Stream returns when its target
// deployment's node went down before the request finished, or the target
// activation did not exist.
const ScopeOwner = "owner"

// streamBuffer is how many messages a stream holds before a sender blocks
// (backpressure reaches the runner's producer through its pipe).
const streamBuffer = 64

// NewStream registers a reply process for requestID. Messages for it are
// sent to s.PID(); Cancel messages go to target.
func NewStream(ctx context.Context, system *actor.ActorSystem, target *actor.PID, requestID string) *Stream {
	return newStream(ctx, system, target, requestID, nil)
}

// newStream is NewStream with draining, which reports the nodes whose loss
// of connection does not end the stream (see Placement.Draining).
func newStream(ctx context.Context, system *actor.ActorSystem, target *actor.PID, requestID string, draining func(string) bool) *Stream {
	s := &Stream{
		draining:  draining,
		system:    system,
		target:    target,
		requestID: requestID,
		ctx:       ctx,
		ch:        make(chan any, streamBuffer),
		closed:    make(chan struct{}),
	}
	var remoteTarget actor.Process
	if target != nil && target.Address != system.ProcessRegistry.Address {
		if p, _ := system.ProcessRegistry.Get(target); p != nil {
			remoteTarget = p
		}
	}
	if remoteTarget == nil {
		hub, pid := hubFor(system)
		if _, taken := hub.streams.LoadOrStore(requestID, s); !taken {
			s.hub, s.pid = hub, pid
			return s
		}
		// Another local stream waits under this request id: give this one
		// a process of its own so the two never mix.
	}
	id := "req$" + system.ProcessRegistry.NextId()
	s.pid, _ = system.ProcessRegistry.Add(s, id)
	if remoteTarget != nil {
		s.remote = true
		remoteTarget.SendSystemMessage(target, &actor.Watch{Watcher: s.pid})
	}
	return s
}

// PID is the reply-to address of the request.
func (s *Stream) PID() *actor.PID { return s.pid }

// SendUserMessage implements actor.Process: it queues chunks and errors.
func (s *Stream) SendUserMessage(_ *actor.PID, message any) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	switch msg.(type) {
	case *messages.TokenChunk, *messages.Error:
	default:
		return
	}
	if s.remote {
		s.enqueue(msg)
		return
	}
	select {
	case s.ch <- msg:
	case <-s.closed:
	}
}

// enqueue queues msg without blocking, keeping arrival order.
func (s *Stream) enqueue(msg any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.overflow) == 0 {
		select {
		case s.ch <- msg:
			return
		default:
		}
	}
	select {
	case <-s.closed:
	default:
		s.overflow = append(s.overflow, msg)
	}
}

// refill moves overflowed messages into the buffer as room frees up.
func (s *Stream) refill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.overflow) > 0 {
		select {
		case s.ch <- s.overflow[0]:
			s.overflow[0] = nil
			s.overflow = s.overflow[1:]
		default:
			return
		}
	}
}

// SendSystemMessage implements actor.Process: a remote target's
// termination ends the stream with a typed error.
func (s *Stream) SendSystemMessage(_ *actor.PID, message any) {
	t, ok := message.(*actor.Terminated)
	if !ok || !s.remote || !t.GetWho().Equal(s.target) {
		return
	}
	// A stopped activation's runners finish the requests they started, so
	// Stopped is not an error; a gone node or a target that never existed is.
	var why string
	switch t.GetWhy() {
	case actor.TerminatedReason_AddressTerminated:
		if s.draining != nil && s.draining(s.target.GetAddress()) {
			return // it left gracefully and finishes what it holds
		}
		why = "the node hosting the deployment (" + s.target.GetAddress() + ") is gone"
	case actor.TerminatedReason_NotFound:
		why = "the deployment's activation " + s.target.GetId() + " does not exist"
	default:
		return
	}
	s.enqueue(&messages.Error{Code: runners.CodeNetwork, Scope: ScopeOwner, RequestId: s.requestID,
		Message: why + " before the request finished"})
}

// Stop implements actor.Process.
func (s *Stream) Stop(*actor.PID) { s.Close() }

// Recv implements runners.RunHandle.
func (s *Stream) Recv() (*messages.TokenChunk, error) {
	if s.done.Load() {
		return nil, io.EOF
	}
	var m any
	if s.remote {
		defer s.refill()
	}
	select {
	case m = <-s.ch:
	default:
		select {
		case m = <-s.ch:
		case <-s.ctx.Done():
			err := runners.AsError(s.ctx.Err())
			err.RequestId = s.requestID
			s.cancel()
			s.done.Store(true)
			return nil, err
		case <-s.closed:
			return nil, runners.ErrCancelled
		}
	}
	switch v := m.(type) {
	case *messages.TokenChunk:
		if v.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			s.done.Store(true)
		}
		return v, nil
	case *messages.Error:
		s.done.Store(true)
		return nil, v
	}
	return nil, runners.Errorf(runners.CodeInternal, "unexpected message %T", m)
}

// cancel tells the deployment the caller has gone.
func (s *Stream) cancel() {
	if s.target != nil {
		s.system.Root.Send(s.target, &messages.Cancel{RequestId: s.requestID})
	}
}

// Close implements runners.RunHandle: it cancels the request if it has not
// finished and unregisters the reply process.
func (s *Stream) Close() error {
	s.once.Do(func() {
		if !s.done.Load() {
			s.cancel()
		}
		if s.remote {
			if p, _ := s.system.ProcessRegistry.Get(s.target); p != nil {
				p.SendSystemMessage(s.target, &actor.Unwatch{Watcher: s.pid})
			}
		}
		close(s.closed)
		if s.hub != nil {
			s.hub.streams.CompareAndDelete(s.requestID, s)
			return
		}
		s.system.ProcessRegistry.Remove(s.pid)
	})
	return nil
}

var _ runners.RunHandle = (*Stream)(nil)
var _ actor.Process = (*Stream)(nil)
