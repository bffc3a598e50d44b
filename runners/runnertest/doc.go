// Package runnertest is the conformance suite every runners.ModelRunner
// passes: call Run from a test with a Harness that builds a fresh runner and,
// where the runner's test setup can, injects faults.
//
//	func TestConformance(t *testing.T) {
//		runnertest.Run(t, runnertest.Harness{
//			Deterministic: true,
//			New: func(t *testing.T) *runnertest.Instance {
//				r := fake.New()
//				return &runnertest.Instance{Runner: r, RateLimitNext: ...}
//			},
//		})
//	}
//
// The suite checks the contract written on runners.ModelRunner and
// runners.RunHandle: streams end in io.EOF with the finish reason and usage
// on the last chunk, max_tokens is honoured, cancellation and deadlines end a
// stream promptly with a typed error, Close is idempotent and releases the
// producer, concurrent calls are safe, every error is typed and classified
// the way the actors expect (rate limits, cut streams, session faults),
// RebuildSession clears session faults, the kinds are consistent, and
// EstimateCostUSD never undershoots the reported cost.
//
// Subtests that need a fault injector the Instance leaves nil are skipped.
// Nothing in the suite sleeps: every wait is bounded by Harness.Timeout. Run
// counts goroutines, so the test calling it must not run in parallel with
// other tests of its package.
package runnertest
