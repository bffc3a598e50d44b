package anthropic

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

// TestConformance runs the runners/runnertest suite against the fake
// Messages API server, with the key in a file so that the auth fault is a
// real rotation.
func TestConformance(t *testing.T) {
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true,
		Stop:          true,
		New: func(t *testing.T) *runnertest.Instance {
			keyFile := filepath.Join(t.TempDir(), "anthropic-key")
			if err := os.WriteFile(keyFile, []byte("sk-ant-first-000000\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			f := newFakeServer(t, "sk-ant-first-000000")
			cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "claude-sonnet-4-5-20250929",
				APIKey: httpapi.Secret{FromFile: keyFile}, Retry: httpapi.RetryPolicy{NoRetries: true}}}
			r, err := New((cfg), Options{})
			if err != nil {
				t.Fatal(err)
			}
			return &runnertest.Instance{
				Runner: r,
				RateLimitNext: func(d time.Duration) {
					f.push(scripted{status: 429, header: map[string][]string{"Retry-After-Ms": {itoa(d.Milliseconds())}},
						body: `{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}`})
				},
				CutNext: func(n int) { f.push(scripted{cutAfter: n}) },
				Stall:   f.stallAfter,
				SessionFaults: []runnertest.SessionFault{{Cause: runners.RemoteAuthFailure, Inject: func() {
					f.setKey("sk-ant-rotated-111111")
					if err := os.WriteFile(keyFile, []byte("sk-ant-rotated-111111\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}}},
				FailRebuild: func() { os.Remove(keyFile) },
				InFlight:    r.InFlight,
			}
		},
	})
}
