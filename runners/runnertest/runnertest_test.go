package runnertest_test

import (
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

// TestRunWithoutInjectors runs the suite against a runner that offers no
// fault injector: the fault subtests skip and the rest pass.
func TestRunWithoutInjectors(t *testing.T) {
	runnertest.Run(t, runnertest.Harness{
		New: func(*testing.T) *runnertest.Instance { return &runnertest.Instance{Runner: fake.New()} },
	})
}

// TestRunWithInjectors is the pattern a runner's own conformance test
// follows: build a fresh runner and map the suite's injectors onto its test
// setup.
func TestRunWithInjectors(t *testing.T) {
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true,
		Stop:          true,
		ReplyTokens:   12,
		Timeout:       5 * time.Second,
		New: func(*testing.T) *runnertest.Instance {
			r := fake.New(fake.WithPrice(1, 4), fake.WithTransportKind(runners.TransportRemote(runners.ProviderOpenAI)))
			return &runnertest.Instance{
				Runner:        r,
				RateLimitNext: func(d time.Duration) { r.RateLimitNext(1, d) },
				CutNext:       r.CutAfter,
				Stall:         func(k int) func() { r.StallAfter(k); return r.Release },
				SessionFaults: []runnertest.SessionFault{
					{Name: "expired key", Cause: runners.RemoteAuthFailure, Inject: r.ExpireAuth},
				},
				FailRebuild: func() { r.FailRebuild(runners.Errorf(runners.CodeUnauthorized, "no key")) },
				InFlight:    r.InFlight,
			}
		},
	})
}
