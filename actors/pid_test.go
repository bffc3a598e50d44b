package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
)

func TestPIDConversion(t *testing.T) {
	tests := []struct {
		name string
		in   *messages.PID
		want *actor.PID
	}{
		{"nil", nil, nil},
		{"no id", &messages.PID{Address: "nonhost"}, nil},
		{"local", &messages.PID{Address: "nonhost", Id: "$1/limiter"}, actor.NewPID("nonhost", "$1/limiter")},
		{"remote", &messages.PID{Address: "10.0.0.7:7400", Id: "partition-activator/gpt$3"}, actor.NewPID("10.0.0.7:7400", "partition-activator/gpt$3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ToActorPID(tt.in)
			if (got == nil) != (tt.want == nil) || got != nil && !got.Equal(tt.want) {
				t.Fatalf("ToActorPID(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if got == nil {
				return
			}
			back := FromActorPID(got)
			if back.GetAddress() != tt.in.GetAddress() || back.GetId() != tt.in.GetId() {
				t.Errorf("FromActorPID(%v) = %v, want %v", got, back, tt.in)
			}
		})
	}
	if got := FromActorPID(nil); got != nil {
		t.Errorf("FromActorPID(nil) = %v, want nil", got)
	}
	sender := actor.NewPID("nonhost", "future$1")
	if got := replyTarget(nil, sender); got != sender {
		t.Errorf("replyTarget(nil, sender) = %v, want sender", got)
	}
}
