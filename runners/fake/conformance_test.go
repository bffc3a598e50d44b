package fake_test

import (
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

// instant is a clock whose timers fire at once, so that delayed streams run
// through the goroutine-backed path without waiting.
type instant struct{ clock.Real }

func (instant) AfterFunc(_ time.Duration, f func()) clock.Timer { return time.AfterFunc(0, f) }

// instance wraps a fake for the conformance suite.
func instance(r *fake.Runner) *runnertest.Instance {
	return &runnertest.Instance{
		Runner:        r,
		RateLimitNext: func(d time.Duration) { r.RateLimitNext(1, d) },
		CutNext:       r.CutAfter,
		Stall: func(k int) func() {
			r.StallAfter(k)
			return r.Release
		},
		SessionFaults: []runnertest.SessionFault{
			{Cause: runners.CudaContextPoisoned, Inject: r.PoisonContext},
			{Cause: runners.RemoteAuthFailure, Inject: r.ExpireAuth},
		},
		FailRebuild: func() { r.FailRebuild(runners.Errorf(runners.CodeInternal, "device lost")) },
		InFlight:    r.InFlight,
	}
}

func TestConformance(t *testing.T) {
	tests := []struct {
		name        string
		opts        []fake.Option
		stage       fake.Stage
		replyTokens int32
	}{
		{name: "default"},
		{name: "delayed", opts: []fake.Option{fake.WithTokenDelay(time.Millisecond), fake.WithClock(instant{})}},
		{name: "priced remote", stage: fake.AtFirstRecv, replyTokens: 8, opts: []fake.Option{
			fake.WithPrice(2.5, 10),
			fake.WithRuntimeKind(runners.RuntimeOpenAI),
			fake.WithTransportKind(runners.TransportRemote(runners.ProviderOpenAI)),
			fake.WithRateLimits(runners.RateLimits{RequestsPerMinute: 100}),
		}},
		{name: "unknown price", opts: []fake.Option{fake.WithUnknownPrice(), fake.WithBuffer(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runnertest.Run(t, runnertest.Harness{
				Deterministic: true,
				Stop:          true,
				ReplyTokens:   tt.replyTokens,
				New: func(t *testing.T) *runnertest.Instance {
					r := fake.New(tt.opts...)
					r.SetFaultStage(tt.stage)
					return instance(r)
				},
			})
		})
	}
}
