package fake

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// gen generates one request's chunks, one token per step. It is used by one
// goroutine at a time.
type gen struct {
	r      *Runner
	reqID  string
	model  string
	stream bool
	input  int64
	p      plan

	pos     int // where the next token starts in p.src
	steps   int // tokens generated
	total   int // tokens to generate (at least one step, for the last chunk)
	emitted int // chunks returned
	done    bool

	startErr error // an AtFirstRecv fault
	cutAt    int   // fail once this many chunks are out; -1: no cut
	cutErr   error
	stallAt  int // stall before this step while stallCh is open
	stallCh  <-chan struct{}
}

// cutting reports whether the next step is the cut.
func (g *gen) cutting() bool { return g.cutAt >= 0 && g.emitted >= g.cutAt }

// wantsToken reports whether the next step generates a token (and so waits
// for the token delay and the stall); false when it only ends the stream.
func (g *gen) wantsToken() bool {
	return !g.done && g.startErr == nil && g.steps < g.total && !g.cutting()
}

// step generates one token. It returns the chunk to deliver (nil for a
// token of a non-streaming answer that is not its last), or the error that
// ends the stream: io.EOF after the last chunk.
func (g *gen) step() (*messages.TokenChunk, error) {
	switch {
	case g.done:
		return nil, io.EOF
	case g.startErr != nil:
		g.done = true
		return nil, g.startErr
	case g.r.poisoned.Load():
		g.done = true
		return nil, poisonError(g.reqID, g.emitted > 0)
	case g.cutting():
		g.done = true
		return nil, cutError(g.cutErr, g.reqID, g.emitted > 0)
	case g.steps >= g.total:
		g.done = true
		return nil, io.EOF
	}
	g.steps++
	last := g.steps == g.total
	var text string
	if g.stream {
		text, g.pos = g.p.piece(g.pos)
	} else if last {
		text = g.p.src[g.p.start:g.p.end]
	} else {
		return nil, nil
	}
	c := &messages.TokenChunk{RequestId: g.reqID, Seq: uint32(g.emitted), Text: text}
	g.emitted++
	if last && g.cutAt < 0 {
		g.finish(c)
	}
	return c, nil
}

// finish fills in the last chunk's finish reason, usage, cost and model.
func (g *gen) finish(c *messages.TokenChunk) {
	out := int64(g.p.tokens)
	c.FinishReason = g.p.finish
	c.Usage = &messages.Usage{InputTokens: g.input, OutputTokens: out}
	c.Model = g.model
	switch cfg := &g.r.cfg; {
	case cfg.unknown:
		c.CostUnknown = true
	case cfg.price != nil:
		c.CostUsd = cfg.price.cost(g.input, out)
	}
}

// produce runs a streaming request for a pipe-backed handle.
func (r *Runner) produce(ctx context.Context, p *runners.Pipe, g *gen) {
	defer r.inFlight.Add(-1)
	for {
		if g.wantsToken() {
			if g.stallCh != nil && g.steps >= g.stallAt {
				select {
				case <-g.stallCh:
					g.stallCh = nil
				case <-ctx.Done():
					p.Finish(ctxError(ctx.Err(), g.reqID, g.emitted > 0))
					return
				}
			}
			if d := r.cfg.delay; d > 0 {
				tick := make(chan struct{})
				t := r.cfg.clock.AfterFunc(d, func() { close(tick) })
				select {
				case <-tick:
				case <-ctx.Done():
					t.Stop()
					p.Finish(ctxError(ctx.Err(), g.reqID, g.emitted > 0))
					return
				}
			}
		}
		if err := ctx.Err(); err != nil {
			p.Finish(ctxError(err, g.reqID, g.emitted > 0))
			return
		}
		c, err := g.step()
		if err != nil {
			p.Finish(err)
			return
		}
		if c != nil && !p.Send(c) {
			return // the consumer closed the handle
		}
	}
}

// pipeHandle is a Pipe that counts its Close for Runner.Open. Its gen
// belongs to the producer goroutine.
type pipeHandle struct {
	*runners.Pipe
	r      *Runner
	closed atomic.Bool
	g      gen
}

// Close implements runners.RunHandle.
func (h *pipeHandle) Close() error {
	if h.closed.CompareAndSwap(false, true) {
		h.r.open.Add(-1)
	}
	return h.Pipe.Close()
}

// handle is a goroutine-free RunHandle that generates each chunk in Recv,
// used when no token waits for anything.
type handle struct {
	ctx     context.Context
	g       gen
	closed  atomic.Bool
	running atomic.Bool // counted in Runner.InFlight
	ended   bool
	err     error
}

// Recv implements runners.RunHandle.
func (h *handle) Recv() (*messages.TokenChunk, error) {
	if h.ended {
		return nil, h.err
	}
	if h.closed.Load() {
		return h.end(ctxError(context.Canceled, h.g.reqID, h.g.emitted > 0))
	}
	if err := h.ctx.Err(); err != nil {
		return h.end(ctxError(err, h.g.reqID, h.g.emitted > 0))
	}
	for {
		c, err := h.g.step()
		if err != nil {
			return h.end(err)
		}
		if c != nil {
			return c, nil
		}
	}
}

func (h *handle) end(err error) (*messages.TokenChunk, error) {
	h.ended, h.err = true, err
	h.stop()
	return nil, err
}

func (h *handle) stop() {
	if h.running.CompareAndSwap(true, false) {
		h.g.r.inFlight.Add(-1)
	}
}

// Close implements runners.RunHandle.
func (h *handle) Close() error {
	if h.closed.CompareAndSwap(false, true) {
		h.g.r.open.Add(-1)
		h.stop()
	}
	return nil
}
