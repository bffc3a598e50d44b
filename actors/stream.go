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

// Stream is the caller's end of one request: a lightweight process
// registered in the actor system's registry (no mailbox, no goroutine) whose
// PID is the request's reply-to. TokenChunk and Error messages sent to it,
// from this node or from any other, are delivered to Recv in order.
//
// Stream implements runners.RunHandle: Recv returns chunks, io.EOF after
// the chunk carrying a finish reason, or the typed *messages.Error that
// ended the request. Close (or cancelling the context given to Recv)
// withdraws the request: the deployment cancels it down to the runner.
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
}

// streamBuffer is how many messages a stream holds before a sender blocks
// (backpressure reaches the runner's producer through its pipe).
const streamBuffer = 64

// NewStream registers a reply process for requestID. Messages for it are
// sent to s.PID(); Cancel messages go to target.
func NewStream(ctx context.Context, system *actor.ActorSystem, target *actor.PID, requestID string) *Stream {
	s := &Stream{
		system:    system,
		target:    target,
		requestID: requestID,
		ctx:       ctx,
		ch:        make(chan any, streamBuffer),
		closed:    make(chan struct{}),
	}
	id := "req$" + system.ProcessRegistry.NextId()
	s.pid, _ = system.ProcessRegistry.Add(s, id)
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
	select {
	case s.ch <- msg:
	case <-s.closed:
	}
}

// SendSystemMessage implements actor.Process (streams have no system messages).
func (s *Stream) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (s *Stream) Stop(*actor.PID) { s.Close() }

// Recv implements runners.RunHandle.
func (s *Stream) Recv() (*messages.TokenChunk, error) {
	if s.done.Load() {
		return nil, io.EOF
	}
	var m any
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
		close(s.closed)
		s.system.ProcessRegistry.Remove(s.pid)
	})
	return nil
}

var _ runners.RunHandle = (*Stream)(nil)
var _ actor.Process = (*Stream)(nil)
