package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
)

// ToActorPID converts a wire PID to protoactor's PID. A nil PID, or one
// without an id, converts to nil.
func ToActorPID(p *messages.PID) *actor.PID {
	if p == nil || p.GetId() == "" {
		return nil
	}
	return actor.NewPID(p.GetAddress(), p.GetId())
}

// FromActorPID converts protoactor's PID to a wire PID; nil converts to
// nil. protoactor's RequestId is not carried.
func FromActorPID(p *actor.PID) *messages.PID {
	if p == nil {
		return nil
	}
	return &messages.PID{Address: p.GetAddress(), Id: p.GetId()}
}

// replyTarget returns the PID a reply goes to: the message's reply-to when
// set, otherwise the sender (a future, for RequestFuture callers).
func replyTarget(replyTo *messages.PID, sender *actor.PID) *actor.PID {
	if p := ToActorPID(replyTo); p != nil {
		return p
	}
	return sender
}
