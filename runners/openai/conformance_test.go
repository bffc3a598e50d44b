package openai

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config, *fakeOpenAI)
	}{
		{"openai", nil},
		{"azure", func(c *Config, f *fakeOpenAI) {
			f.azure = true
			c.Runtime, c.Endpoint, c.AzureDeployment = runners.RuntimeAzureOpenAI, f.srv.URL, "my-gpt4o"
		}},
		{"litellm-no-usage", func(c *Config, f *fakeOpenAI) {
			f.noUsage = true
			c.Runtime, c.Provider = runners.RuntimeLiteLLM, runners.ProviderLiteLLM
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runnertest.Run(t, runnertest.Harness{
				Deterministic: true,
				Stop:          true,
				New: func(t *testing.T) *runnertest.Instance {
					keyFile := filepath.Join(t.TempDir(), "key")
					writeKey(t, keyFile, "key-1")
					f := newFakeOpenAI(t, "key-1")
					cfg := Config{Config: httpapi.Config{
						Endpoint: f.srv.URL + "/v1",
						Model:    "gpt-4o-mini",
						APIKey:   httpapi.Secret{FromFile: keyFile},
						// A hint over MaxBackoff fails at once, so that the
						// suite's 1.5s rate limit reaches it; 5xx retries stay on.
						Retry: httpapi.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Second},
					}}
					if tc.mod != nil {
						tc.mod(&cfg, f)
					}
					r, err := New(Static(cfg), Options{})
					if err != nil {
						t.Fatal(err)
					}
					return &runnertest.Instance{
						Runner:        r,
						RateLimitNext: f.rateLimitNext,
						CutNext:       f.cutNext,
						Stall:         f.stallAfter,
						SessionFaults: []runnertest.SessionFault{{
							Name:  "rotated key",
							Cause: runners.RemoteAuthFailure,
							Inject: func() {
								f.setKey("key-2")
								writeKey(t, keyFile, "key-2")
							},
						}},
						FailRebuild: func() { os.Remove(keyFile) },
						InFlight:    r.InFlight,
					}
				},
			})
		})
	}
}

func writeKey(t *testing.T, path, key string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
