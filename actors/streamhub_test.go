package actors

import (
	"context"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
)

func TestStreamHubRoutesByRequestID(t *testing.T) {
	sys := quietSystem(t)
	ctx := context.Background()
	a := NewStream(ctx, sys, nil, "a")
	b := NewStream(ctx, sys, nil, "b")
	dup := NewStream(ctx, sys, nil, "a")
	if !a.PID().Equal(b.PID()) {
		t.Fatalf("local streams a=%v b=%v: want both on the node's hub", a.PID(), b.PID())
	}
	if dup.PID().Equal(a.PID()) {
		t.Fatalf("a second stream for request id %q shares the hub PID: its messages would mix", "a")
	}
	sys.Root.Send(a.PID(), &messages.TokenChunk{RequestId: "b", Text: "for b", FinishReason: messages.FinishReason_FINISH_REASON_STOP})
	sys.Root.Send(a.PID(), &messages.Error{RequestId: "a", Code: messages.ErrorCode_ERROR_CODE_TIMEOUT})
	sys.Root.Send(dup.PID(), &messages.TokenChunk{RequestId: "a", Text: "for dup", FinishReason: messages.FinishReason_FINISH_REASON_STOP})
	if c, err := b.Recv(); err != nil || c.GetText() != "for b" {
		t.Fatalf("b.Recv() = %v, %v; want the chunk for b", c, err)
	}
	if _, err := a.Recv(); err == nil || err.(*messages.Error).GetCode() != messages.ErrorCode_ERROR_CODE_TIMEOUT {
		t.Fatalf("a.Recv() error = %v, want the timeout sent to a", err)
	}
	if c, err := dup.Recv(); err != nil || c.GetText() != "for dup" {
		t.Fatalf("dup.Recv() = %v, %v; want its own chunk", c, err)
	}
	for _, s := range []*Stream{a, b, dup} {
		s.Close()
	}
	hub, _ := hubFor(sys)
	n := 0
	hub.streams.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("hub holds %d streams after every stream closed, want 0", n)
	}
}
