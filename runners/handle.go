package runners

import (
	"context"
	"io"
	"sync"

	"github.com/actorinfer/actorinfer/messages"
)

// Pipe is a RunHandle fed by a producer goroutine: the producer calls Send
// for each chunk and Finish once at the end; the consumer calls Recv. It
// is the building block runner implementations use for their handles.
//
// Send blocks while the consumer is behind by more than the buffer, so a
// slow consumer slows the producer instead of growing memory. Close (by the
// consumer) cancels the producer's context and unblocks Send.
type Pipe struct {
	ch     chan *messages.TokenChunk
	done   chan struct{} // closed by Finish
	closed chan struct{} // closed by Close
	cancel context.CancelFunc

	once      sync.Once
	closeOnce sync.Once
	err       error // set before done is closed
}

// NewPipe returns a pipe with the given buffer and the context the producer
// should watch: it is cancelled when ctx is or when the consumer closes.
func NewPipe(ctx context.Context, buffer int) (*Pipe, context.Context) {
	pctx, cancel := context.WithCancel(ctx)
	return &Pipe{
		ch:     make(chan *messages.TokenChunk, buffer),
		done:   make(chan struct{}),
		closed: make(chan struct{}),
		cancel: cancel,
	}, pctx
}

// Send delivers one chunk. It returns false when the consumer has closed the
// handle; the producer should stop.
func (p *Pipe) Send(c *messages.TokenChunk) bool {
	select {
	case p.ch <- c:
		return true
	case <-p.closed:
		return false
	}
}

// Finish ends the stream: err nil (or io.EOF) for a clean end, otherwise the
// error Recv returns after the buffered chunks. Only the first call counts.
func (p *Pipe) Finish(err error) {
	p.once.Do(func() {
		if err == nil {
			err = io.EOF
		}
		p.err = err
		close(p.done)
	})
}

// Recv implements RunHandle.
func (p *Pipe) Recv() (*messages.TokenChunk, error) {
	select {
	case c := <-p.ch:
		return c, nil
	default:
	}
	select {
	case c := <-p.ch:
		return c, nil
	case <-p.done:
		// Drain what was sent before Finish.
		select {
		case c := <-p.ch:
			return c, nil
		default:
			return nil, p.err
		}
	case <-p.closed:
		return nil, ErrCancelled
	}
}

// Close implements RunHandle: it cancels the producer and releases it.
func (p *Pipe) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.cancel()
	})
	return nil
}

// SliceHandle is a RunHandle over chunks known in advance (unary answers).
type SliceHandle struct {
	Chunks []*messages.TokenChunk
	Err    error // returned after the chunks instead of io.EOF, when set
	i      int
}

// Recv implements RunHandle.
func (s *SliceHandle) Recv() (*messages.TokenChunk, error) {
	if s.i < len(s.Chunks) {
		s.i++
		return s.Chunks[s.i-1], nil
	}
	if s.Err != nil {
		return nil, s.Err
	}
	return nil, io.EOF
}

// Close implements RunHandle.
func (s *SliceHandle) Close() error { return nil }
