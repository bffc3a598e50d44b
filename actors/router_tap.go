package actors

import (
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
)

// tap is a router's reply process for one attempt on one member: a
// lightweight process in the registry (no mailbox, no goroutine), like
// Stream, whose PID is the member's reply-to. It runs on the goroutine of
// whoever sends to it (the member's stream pump, or the member deployment
// for an error before the first chunk).
//
// In pass mode (tiered, fallback, a cascade's last member) it forwards
// chunks to the caller as they come, stamping the route on the first: that
// chunk is the commit boundary. An error before it goes to the router
// actor, which decides; an error after it goes to the caller, in-band.
//
// In buffer mode (a cascade's candidates) it holds the chunks until the
// last one, runs the escalation checks, and either streams the buffer to
// the caller or asks the router to escalate. Nothing reaches the caller
// before acceptance, so any failure of a candidate can still escalate.
//
// The tap unregisters itself at the attempt's terminal message (a chunk
// with a finish reason, or an error).
type tap struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	router  *actor.PID // the router actor: outcomes go there
	caller  *actor.PID
	id      string
	attempt int
	buffer  bool
	esc     *Escalation // buffer mode
	route   *messages.RouteInfo
	obs     Observer

	mu        sync.Mutex
	committed bool // pass mode: a chunk went to the caller
	discard   bool // buffer mode: escalated early; drop the rest
	ended     bool
	buf       []*messages.TokenChunk
	size      int  // bytes of text buffered
	tools     bool // a buffered chunk has tool calls
}

// tapFailed reports an attempt that failed before the caller saw any of it.
type tapFailed struct {
	id      string
	attempt int
	err     *messages.Error
	outcome string // the step outcome: the code slug, or escalated_truncated
}

// tapEscalate reports a cascade candidate rejected by a check; cancel asks
// the router to cancel the member (the candidate was still running).
type tapEscalate struct {
	id      string
	attempt int
	outcome string
	cancel  bool
}

// tapDone reports an attempt the caller got (complete or failed in-band).
type tapDone struct {
	id      string
	attempt int
}

func newTap(system *actor.ActorSystem, t *tap) *tap {
	t.system = system
	t.pid, _ = system.ProcessRegistry.Add(t, "route$"+system.ProcessRegistry.NextId())
	return t
}

// SendUserMessage implements actor.Process.
func (t *tap) SendUserMessage(_ *actor.PID, message any) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	switch m := msg.(type) {
	case *messages.TokenChunk:
		if t.buffer {
			t.bufferChunk(m)
		} else {
			t.passChunk(m)
		}
	case *messages.Error:
		t.onError(m)
	}
}

// SendSystemMessage implements actor.Process (taps have no system messages).
func (t *tap) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (t *tap) Stop(*actor.PID) { t.end() }

// end unregisters the tap once; it reports whether this call did.
func (t *tap) end() bool {
	t.mu.Lock()
	was := t.ended
	t.ended = true
	t.mu.Unlock()
	if !was {
		t.system.ProcessRegistry.Remove(t.pid)
	}
	return !was
}

func final(c *messages.TokenChunk) bool {
	return c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED
}

// stamp puts the route on the first chunk the caller gets (outermost router
// first) and reports the decision.
func (t *tap) stamp(c *messages.TokenChunk) {
	c.Routes = append([]*messages.RouteInfo{t.route}, c.Routes...)
	t.obs.Routed(t.route.GetRouter(), t.route.GetMember(), t.route.GetReason())
}

func (t *tap) passChunk(c *messages.TokenChunk) {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return
	}
	first := !t.committed
	t.committed = true
	t.mu.Unlock()
	if first {
		t.stamp(c)
	}
	t.system.Root.Send(t.caller, c)
	if final(c) && t.end() {
		t.system.Root.Send(t.router, &tapDone{id: t.id, attempt: t.attempt})
	}
}

func (t *tap) bufferChunk(c *messages.TokenChunk) {
	t.mu.Lock()
	if t.ended || t.discard {
		t.mu.Unlock()
		if final(c) {
			t.end()
		}
		return
	}
	t.buf = append(t.buf, c)
	t.size += len(c.GetText())
	t.tools = t.tools || len(c.GetToolCalls()) > 0
	if t.esc.MaxLength > 0 && t.size > t.esc.MaxLength && !final(c) {
		// Over the limit: escalate now rather than pay for the rest.
		t.discard, t.buf = true, nil
		t.mu.Unlock()
		t.system.Root.Send(t.router, &tapEscalate{id: t.id, attempt: t.attempt, outcome: OutcomeEscalatedMaxLength, cancel: true})
		return
	}
	if !final(c) {
		t.mu.Unlock()
		return
	}
	buf := t.buf
	t.buf = nil
	tools := t.tools
	t.mu.Unlock()
	var b strings.Builder
	b.Grow(t.size)
	for _, x := range buf {
		b.WriteString(x.GetText())
	}
	t.end()
	if outcome := t.esc.verdict(b.String(), tools, c); outcome != "" {
		t.system.Root.Send(t.router, &tapEscalate{id: t.id, attempt: t.attempt, outcome: outcome})
		return
	}
	t.stamp(buf[0])
	for _, x := range buf {
		t.system.Root.Send(t.caller, x)
	}
	t.system.Root.Send(t.router, &tapDone{id: t.id, attempt: t.attempt})
}

func (t *tap) onError(e *messages.Error) {
	t.mu.Lock()
	committed, discard, buffered := t.committed, t.discard, len(t.buf) > 0
	t.buf = nil
	t.mu.Unlock()
	if !t.end() {
		return
	}
	switch {
	case discard:
		// Escalated already: this is the cancelled candidate's end.
	case committed:
		t.system.Root.Send(t.caller, e)
		t.system.Root.Send(t.router, &tapDone{id: t.id, attempt: t.attempt})
	case buffered:
		// A candidate cut after its first chunk: the caller saw none of it.
		t.system.Root.Send(t.router, &tapFailed{id: t.id, attempt: t.attempt, err: e, outcome: OutcomeEscalatedTruncated})
	default:
		t.system.Root.Send(t.router, &tapFailed{id: t.id, attempt: t.attempt, err: e, outcome: e.GetCode().Slug()})
	}
}

var _ actor.Process = (*tap)(nil)
