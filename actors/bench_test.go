package actors

import (
	"context"
	"strconv"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// BenchmarkDeploymentRequest measures one request through a deployment with
// the fake runner: Host.Execute → DeploymentActor → (RateLimiterActor →
// BudgetActor →) RunnerActor → pump → Stream, drained to EOF.
//
// Actor hops on the request's critical path (each is one mailbox wake-up):
//
//	bare:    caller→deployment, deployment→runner = 2 (+1 outcome report off the path)
//	limited: + deployment→limiter→deployment       = 4
//	full:    + deployment→budget→deployment        = 6
func BenchmarkDeploymentRequest(b *testing.B) {
	for _, tc := range []struct {
		name string
		spec func(*DeploymentSpec)
	}{
		{"bare", func(*DeploymentSpec) {}},
		{"limited", func(s *DeploymentSpec) {
			s.RateLimits = &runners.RateLimits{RequestsPerMinute: 1e12, TokensPerMinute: 1e15, ConcurrentRequests: 1 << 20}
		}},
		{"full", func(s *DeploymentSpec) {
			s.RateLimits = &runners.RateLimits{RequestsPerMinute: 1e12, TokensPerMinute: 1e15, ConcurrentRequests: 1 << 20}
			s.Budget = BudgetConfig{MaxSpendPerHour: 1e12}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := fake.New(fake.WithPrice(1, 1))
			spec := fakeSpec("d", f)
			tc.spec(spec)
			h := testHost(b, spec)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					bt := &messages.ExecuteBatch{Model: "d", Stream: true,
						Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "hello world " + strconv.Itoa(i)}}}
					s, err := h.Execute(ctx, bt)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := runners.ReadAll(s); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
