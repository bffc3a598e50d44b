package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
)

// streamHubID is the process id of a node's stream hub.
const streamHubID = "actorinfer$streams"

// streamHub is the one registered reply process of the local Streams of a
// node. Chunks and errors carry their request id, so one process can hand
// them to the right Stream; registering a process per request instead grows
// protoactor's process registry (1024 slices of 32-shard maps) by a few MB
// for good and costs two map operations per request. Streams whose target is
// on another node keep a process of their own, because they watch it.
type streamHub struct {
	streams sync.Map // request id → *Stream
}

// hubFor returns the stream hub of system, registering it on first use.
func hubFor(system *actor.ActorSystem) (*streamHub, *actor.PID) {
	reg := system.ProcessRegistry
	if p, ok := reg.Get(actor.NewPID(reg.Address, streamHubID)); ok {
		if h, ok := p.(*streamHub); ok {
			return h, actor.NewPID(reg.Address, streamHubID)
		}
	}
	h := &streamHub{}
	pid, added := reg.Add(h, streamHubID)
	if !added {
		p, _ := reg.Get(pid)
		h = p.(*streamHub)
	}
	return h, pid
}

// SendUserMessage implements actor.Process: it routes a chunk or an error
// to its request's Stream. Messages of requests no longer waited for are
// dropped, as a closed Stream drops them.
func (h *streamHub) SendUserMessage(pid *actor.PID, message any) {
	_, msg, _ := actor.UnwrapEnvelope(message)
	var id string
	switch m := msg.(type) {
	case *messages.TokenChunk:
		id = m.GetRequestId()
	case *messages.Error:
		id = m.GetRequestId()
	default:
		return
	}
	if s, ok := h.streams.Load(id); ok {
		s.(*Stream).SendUserMessage(pid, msg)
	}
}

// SendSystemMessage implements actor.Process (the hub watches nothing).
func (h *streamHub) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process (the hub lives as long as the system).
func (h *streamHub) Stop(*actor.PID) {}

var _ actor.Process = (*streamHub)(nil)
