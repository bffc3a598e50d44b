package gemini

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

// quota429 is a RESOURCE_EXHAUSTED body whose RetryInfo asks for d.
func quota429(d time.Duration) string {
	return `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",` +
		`"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"` + itoa(d.Milliseconds()/1000) + `.` +
		itoa(d.Milliseconds()%1000/100) + `s"}]}}`
}

// TestConformance runs the runners/runnertest suite against the fake Gemini
// API: AI Studio with the key in a file (the auth fault is a rotation), and
// Vertex with a bearer token read from a file.
func TestConformance(t *testing.T) {
	t.Run("ai_studio", func(t *testing.T) {
		runnertest.Run(t, runnertest.Harness{
			Deterministic: true,
			Stop:          true,
			New: func(t *testing.T) *runnertest.Instance {
				keyFile := filepath.Join(t.TempDir(), "gemini-key")
				if err := os.WriteFile(keyFile, []byte("AIza-first-000000\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				f := newFakeServer(t, "AIza-first-000000", false)
				r, err := New((Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "gemini-2.5-flash",
					APIKey: httpapi.Secret{FromFile: keyFile}, Retry: httpapi.RetryPolicy{NoRetries: true}}}), Options{})
				if err != nil {
					t.Fatal(err)
				}
				return &runnertest.Instance{
					Runner:        r,
					RateLimitNext: func(d time.Duration) { f.push(scripted{status: 429, body: quota429(d)}) },
					CutNext:       func(n int) { f.push(scripted{cutAfter: n}) },
					Stall:         f.stallAfter,
					SessionFaults: []runnertest.SessionFault{{Cause: runners.RemoteAuthFailure, Inject: func() {
						f.setKey("AIza-rotated-111111")
						if err := os.WriteFile(keyFile, []byte("AIza-rotated-111111\n"), 0o600); err != nil {
							t.Fatal(err)
						}
					}}},
					FailRebuild: func() { os.Remove(keyFile) },
					InFlight:    r.InFlight,
				}
			},
		})
	})
	t.Run("vertex", func(t *testing.T) {
		runnertest.Run(t, runnertest.Harness{
			Deterministic: true,
			Stop:          true,
			New: func(t *testing.T) *runnertest.Instance {
				tokFile := filepath.Join(t.TempDir(), "token")
				if err := os.WriteFile(tokFile, []byte("ya29.first\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				f := newFakeServer(t, "ya29.first", true)
				r, err := New((Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "gemini-2.5-pro",
					Retry: httpapi.RetryPolicy{NoRetries: true}}, Vertex: true, Project: "test-project",
					Location: "us-central1", Token: SecretToken{Secret: httpapi.Secret{FromFile: tokFile}}}), Options{})
				if err != nil {
					t.Fatal(err)
				}
				return &runnertest.Instance{
					Runner:        r,
					RateLimitNext: func(d time.Duration) { f.push(scripted{status: 429, body: quota429(d)}) },
					CutNext:       func(n int) { f.push(scripted{cutAfter: n}) },
					Stall:         f.stallAfter,
					// A revoked token whose source has nothing newer stays
					// refused until the source is fixed and the session rebuilt.
					FailRebuild: func() { os.Remove(tokFile) },
					InFlight:    r.InFlight,
				}
			},
		})
	})
}
