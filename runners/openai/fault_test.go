package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// guard bounds every wait; it fails a test, it never paces one.
const guard = 10 * time.Second

func userBatch(stream bool, text string) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{RequestId: "req-1", Stream: stream, Messages: []*messages.ChatMessage{
		{Role: messages.Role_ROLE_USER, Content: text}}}
}

func baseConfig(f *fakeOpenAI) Config {
	return Config{Config: httpapi.Config{Endpoint: f.srv.URL + "/v1", Model: "gpt-4o-mini",
		APIKey: httpapi.Secret{Inline: "sk-test-fault-0123456789"}}}
}

func mustNew(t *testing.T, cfg Config, opts Options) *Runner {
	t.Helper()
	r, err := New(Static(cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type result struct {
	chunks []*messages.TokenChunk
	err    error
}

func runAsync(r runners.ModelRunner, ctx context.Context, b *messages.ExecuteBatch) chan result {
	ch := make(chan result, 1)
	go func() {
		h, err := r.Execute(ctx, b)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		c, err := runners.ReadAll(h)
		ch <- result{c, err}
	}()
	return ch
}

func wait(t *testing.T, ch chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(guard):
		t.Fatal("the request did not finish")
	}
	return result{}
}

func joined(chunks []*messages.TokenChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.GetText())
	}
	return b.String()
}

// sleepClock reports each backoff sleep (clock.After) so that a test
// advances exactly past it.
type sleepClock struct {
	*clock.Fake
	sleeps chan time.Duration
}

func (c *sleepClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	c.sleeps <- d
	return ch
}

func TestRetries(t *testing.T) {
	t.Run("503 burst then success", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		for range 3 {
			f.failures = append(f.failures, func(w http.ResponseWriter) {
				writeError(w, 503, "The engine is currently overloaded, please try again later.", "server_error", "")
			})
		}
		clk := &sleepClock{clock.NewFake(time.Unix(1_700_000_000, 0)), make(chan time.Duration, 10)}
		cfg := baseConfig(f)
		cfg.Retry = httpapi.RetryPolicy{MaxRetries: 3}
		r := mustNew(t, cfg, Options{Clock: clk, Jitter: func(n time.Duration) time.Duration { return n }})
		ch := runAsync(r, context.Background(), userBatch(true, "hello there friend"))
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			select {
			case d := <-clk.sleeps:
				if d != want {
					t.Errorf("backoff = %v, want %v", d, want)
				}
				clk.Advance(d)
			case <-time.After(guard):
				t.Fatal("the runner never slept")
			}
		}
		res := wait(t, ch)
		if res.err != nil || joined(res.chunks) != "hello there friend" || f.hits.Load() != 4 {
			t.Fatalf("after a 503 burst: %q, %v, %d hits; want the answer after 4", joined(res.chunks), res.err, f.hits.Load())
		}
	})
	t.Run("429 retry-after-ms then success, hint reported", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		f.rateLimitNext(2500 * time.Millisecond)
		clk := &sleepClock{clock.NewFake(time.Unix(1_700_000_000, 0)), make(chan time.Duration, 10)}
		r := mustNew(t, baseConfig(f), Options{Clock: clk, Jitter: func(time.Duration) time.Duration { return 0 }})
		var mu sync.Mutex
		var reports []*messages.RateLimitFeedback
		r.SetRateLimitSink(func(fb *messages.RateLimitFeedback) { mu.Lock(); reports = append(reports, fb); mu.Unlock() })
		ch := runAsync(r, context.Background(), userBatch(false, "hi"))
		select {
		case d := <-clk.sleeps:
			if d != 2500*time.Millisecond {
				t.Errorf("slept %v, want the 2.5s hint", d)
			}
			clk.Advance(d)
		case <-time.After(guard):
			t.Fatal("the runner never slept")
		}
		if res := wait(t, ch); res.err != nil {
			t.Fatal(res.err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(reports) != 2 || reports[0].GetRetryAfterMs() != 2500 || reports[1].GetRemainingRequests() != 9999 || reports[1].GetTokensResetMs() != 300 {
			t.Fatalf("rate-limit reports = %v", reports)
		}
	})
	t.Run("non-idempotent does not retry", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		f.failures = append(f.failures, func(w http.ResponseWriter) { writeError(w, 500, "boom", "server_error", "") })
		cfg := baseConfig(f)
		cfg.NonIdempotent = true
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(true, "x")))
		if runners.AsError(res.err).GetCode() != runners.CodeServerError || f.hits.Load() != 1 {
			t.Fatalf("err = %v after %d hits, want server_error after 1", res.err, f.hits.Load())
		}
	})
}

func TestTimeoutsThroughRunner(t *testing.T) {
	t.Run("stall before the first token", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(block) })
		cfg := Config{Config: httpapi.Config{Endpoint: srv.URL + "/v1", Model: "o3", APIKey: httpapi.Secret{Inline: "k-123456"},
			Timeouts: httpapi.Timeouts{FirstToken: 30 * time.Millisecond}, Retry: httpapi.RetryPolicy{NoRetries: true}}}
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(true, "think hard")))
		e := runners.AsError(res.err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "first_token" || !strings.Contains(e.GetMessage(), "first-token timeout") {
			t.Fatalf("err = %v (scope %q), want timeout/first_token", res.err, e.GetScope())
		}
	})
	t.Run("idle gap after the first token", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		f.stallAfter(1)
		cfg := baseConfig(f)
		cfg.Timeouts.Idle = 30 * time.Millisecond
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(true, "one two three")))
		e := runners.AsError(res.err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "idle" || !e.GetAfterFirstChunk() {
			t.Fatalf("err = %v (scope %q, after first %v), want in-band timeout/idle", res.err, e.GetScope(), e.GetAfterFirstChunk())
		}
		if joined(res.chunks) != "one" {
			t.Errorf("text before the gap = %q, want %q", joined(res.chunks), "one")
		}
		if c := runners.Classify(res.err); !c.Retryable || c.SessionFault {
			t.Errorf("Classify = %+v", c)
		}
	})
}

func TestStreamCutNotReplayed(t *testing.T) {
	f := newFakeOpenAI(t, "")
	f.cutNext(2)
	r := mustNew(t, baseConfig(f), Options{})
	res := wait(t, runAsync(r, context.Background(), userBatch(true, "alpha beta gamma delta")))
	e := runners.AsError(res.err)
	if e.GetCode() != runners.CodeNetwork || !e.GetAfterFirstChunk() {
		t.Fatalf("err = %v, want an in-band network error", res.err)
	}
	if got := joined(res.chunks); got != "alpha beta" {
		t.Errorf("text = %q, want %q exactly once", got, "alpha beta")
	}
	if f.hits.Load() != 1 {
		t.Errorf("the stream was re-run: %d requests", f.hits.Load())
	}
	for _, c := range res.chunks {
		if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED || c.GetUsage() != nil {
			t.Errorf("a cut stream looks complete: %v", c)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "openai-key")
	const oldKey, newKey = "sk-proj-rotation-old-0123456789", "sk-proj-rotation-new-9876543210"
	writeKey(t, keyFile, oldKey)
	f := newFakeOpenAI(t, newKey) // the provider already accepts only the new key
	cfg := baseConfig(f)
	cfg.APIKey = httpapi.Secret{FromFile: keyFile}
	r := mustNew(t, cfg, Options{})

	res := wait(t, runAsync(r, context.Background(), userBatch(true, "hello")))
	if !errors.Is(res.err, runners.ErrUnauthorized) {
		t.Fatalf("with the old key: err = %v, want unauthorized", res.err)
	}
	if strings.Contains(res.err.Error(), oldKey) || strings.Contains(res.err.Error(), newKey) {
		t.Fatalf("the error leaks a key: %v", res.err)
	}
	if c := runners.Classify(res.err); !c.SessionFault || c.Cause != runners.RemoteAuthFailure {
		t.Fatalf("Classify(401) = %+v, want a RemoteAuthFailure session fault", c)
	}
	if f.hits.Load() != 1 {
		t.Errorf("401 was retried: %d requests", f.hits.Load())
	}
	writeKey(t, keyFile, newKey) // the operator rotates the file
	if err := r.RebuildSession(context.Background(), runners.RemoteAuthFailure); err != nil {
		t.Fatal(err)
	}
	res = wait(t, runAsync(r, context.Background(), userBatch(true, "hello")))
	if res.err != nil || joined(res.chunks) != "hello" {
		t.Fatalf("after the rebuild: %q, %v", joined(res.chunks), res.err)
	}
	// A rebuild that cannot read the key fails, typed, naming the file only.
	os.Remove(keyFile)
	err := r.RebuildSession(context.Background(), runners.RemoteAuthFailure)
	var e *messages.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("rebuild with a missing key file = %v", err)
	}
	if res := wait(t, runAsync(r, context.Background(), userBatch(true, "still"))); res.err != nil {
		t.Errorf("the old session must stay after a failed rebuild: %v", res.err)
	}
}

func TestConfigChangeRebuild(t *testing.T) {
	a, b := newFakeOpenAI(t, ""), newFakeOpenAI(t, "")
	var cur atomic.Pointer[Config]
	cfgA := baseConfig(a)
	cur.Store(&cfgA)
	r, err := New(func() (Config, error) { return *cur.Load(), nil }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := a.stallAfter(1)
	h, err := r.Execute(context.Background(), userBatch(true, "old session answer"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if c, err := h.Recv(); err != nil || c.GetText() != "old" {
		t.Fatalf("first chunk = %v, %v", c, err)
	}
	cfgB := baseConfig(b)
	cfgB.Timeouts.Idle = 42 * time.Second
	cur.Store(&cfgB)
	if err := r.RebuildSession(context.Background(), runners.RemoteConfigChange); err != nil {
		t.Fatal(err)
	}
	if got := r.cur.Load().cfg.Timeouts.Idle; got != 42*time.Second {
		t.Errorf("idle timeout after rebuild = %v, want 42s", got)
	}
	res := wait(t, runAsync(r, context.Background(), userBatch(false, "new")))
	if res.err != nil || b.hits.Load() != 1 || a.hits.Load() != 1 {
		t.Fatalf("after the rebuild: err %v, hits a=%d b=%d; want the new endpoint", res.err, a.hits.Load(), b.hits.Load())
	}
	release() // the in-flight stream finishes on the old client
	rest, err := runners.ReadAll(h)
	if err != nil || "old"+joined(rest) != "old session answer" {
		t.Fatalf("in-flight stream after the rebuild: %q, %v", joined(rest), err)
	}
	// The runtime cannot change under a runner.
	bad := baseConfig(b)
	bad.Runtime = runners.RuntimeLiteLLM
	cur.Store(&bad)
	if err := r.RebuildSession(context.Background(), runners.RemoteConfigChange); err == nil {
		t.Error("a rebuild that changes the runtime succeeded")
	}
}

func TestBadResponses(t *testing.T) {
	t.Run("oversize error body", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		f.failures = append(f.failures, func(w http.ResponseWriter) {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":{"message":"`+strings.Repeat("x", 200_000)+`"}}`)
		})
		res := wait(t, runAsync(mustNew(t, baseConfig(f), Options{}), context.Background(), userBatch(true, "x")))
		e := runners.AsError(res.err)
		if e.GetCode() != runners.CodeBadRequest || !strings.Contains(e.GetMessage(), "over 64 KiB") || len(e.GetMessage()) > 500 {
			t.Fatalf("err = %.300v", res.err)
		}
	})
	t.Run("oversize SSE line", func(t *testing.T) {
		f := newFakeOpenAI(t, "")
		cfg := baseConfig(f)
		cfg.MaxSSELine = 256
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(true, strings.Repeat("word ", 10))))
		if e := runners.AsError(res.err); e.GetCode() != runners.CodeServerError || !strings.Contains(e.GetMessage(), "longer than 256 bytes") {
			t.Fatalf("err = %v", res.err)
		}
	})
	t.Run("error event", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "event: error\ndata: {\"error\":{\"message\":\"Rate limit hit mid-stream\",\"type\":\"rate_limit_error\",\"code\":\"rate_limit_exceeded\"}}\n\n")
		}))
		t.Cleanup(srv.Close)
		cfg := Config{Config: httpapi.Config{Endpoint: srv.URL, Model: "m"}, Runtime: runners.RuntimeLiteLLM}
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(true, "x")))
		if e := runners.AsError(res.err); e.GetCode() != runners.CodeRateLimited || len(res.chunks) != 0 {
			t.Fatalf("err = %v, chunks %v; want rate_limited and no chunk", res.err, res.chunks)
		}
	})
	t.Run("no choices", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
		}))
		t.Cleanup(srv.Close)
		cfg := Config{Config: httpapi.Config{Endpoint: srv.URL, Model: "m"}, Runtime: runners.RuntimeLiteLLM}
		res := wait(t, runAsync(mustNew(t, cfg, Options{}), context.Background(), userBatch(false, "x")))
		if runners.AsError(res.err).GetCode() != runners.CodeServerError {
			t.Fatalf("err = %v", res.err)
		}
	})
}

func TestAzureAuth(t *testing.T) {
	for _, entra := range []bool{false, true} {
		t.Run(map[bool]string{false: "api-key", true: "entra"}[entra], func(t *testing.T) {
			f := newFakeOpenAI(t, "azure-credential-123")
			f.azure, f.entra = true, entra
			cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "my-gpt4o"}, Runtime: runners.RuntimeAzureOpenAI}
			if entra {
				cfg.Auth, cfg.Token = AzureAuthEntra, httpapi.Secret{Inline: "azure-credential-123"}
			} else {
				cfg.APIKey = httpapi.Secret{Inline: "azure-credential-123"}
			}
			r := mustNew(t, cfg, Options{})
			if r.RuntimeKind() != runners.RuntimeAzureOpenAI || r.TransportKind() != runners.TransportRemote(runners.ProviderAzureOpenAI) {
				t.Errorf("kinds = %v, %v", r.RuntimeKind(), r.TransportKind())
			}
			res := wait(t, runAsync(r, context.Background(), userBatch(true, "hi azure")))
			if res.err != nil || joined(res.chunks) != "hi azure" {
				t.Fatalf("%q, %v", joined(res.chunks), res.err)
			}
			req := f.lastRequest()
			if !strings.Contains(req.Path, "api-version="+DefaultAzureAPIVersion) {
				t.Errorf("path = %s", req.Path)
			}
			if entra != (req.Header.Get("api-key") == "") {
				t.Errorf("api-key header = %q with entra %v", req.Header.Get("api-key"), entra)
			}
		})
	}
}

func TestCostAndLimits(t *testing.T) {
	f := newFakeOpenAI(t, "")
	cfg := baseConfig(f)
	cfg.RateLimits = runners.RateLimits{RequestsPerMinute: 500, TokensPerMinute: 200000, ConcurrentRequests: 8}
	r := mustNew(t, cfg, Options{})
	if l := r.RateLimits(); l == nil || *l != cfg.RateLimits {
		t.Errorf("RateLimits() = %v", l)
	}
	b := userBatch(true, "a b c d")
	b.Sampling = &messages.Sampling{MaxTokens: 100}
	est := r.EstimateCostUSD(b)
	want := (float64(httpapi.EstimateInputTokens(b))*0.15 + 100*0.60) / 1e6
	if est != want {
		t.Errorf("EstimateCostUSD = %g, want %g", est, want)
	}
	res := wait(t, runAsync(r, context.Background(), b))
	last := res.chunks[len(res.chunks)-1]
	if last.GetCostUsd() <= 0 || last.GetCostUsd() > est || last.GetCostUnknown() {
		t.Errorf("cost = %g (unknown %v), estimate %g", last.GetCostUsd(), last.GetCostUnknown(), est)
	}

	unknown := baseConfig(f)
	unknown.Model = "my-finetune"
	r = mustNew(t, unknown, Options{})
	if est := r.EstimateCostUSD(b); est >= 0 {
		t.Errorf("unknown price: EstimateCostUSD = %g, want negative", est)
	}
	res = wait(t, runAsync(r, context.Background(), b))
	if last := res.chunks[len(res.chunks)-1]; !last.GetCostUnknown() || last.GetCostUsd() != 0 {
		t.Errorf("unknown price: last chunk cost %g unknown %v", last.GetCostUsd(), last.GetCostUnknown())
	}
	unknown.Pricing = &httpapi.Price{Input: 1, Output: 2}
	r = mustNew(t, unknown, Options{})
	if est := r.EstimateCostUSD(b); est <= 0 {
		t.Errorf("override: EstimateCostUSD = %g", est)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := httpapi.Config{Endpoint: "https://x.example", Model: "m"}
	for name, c := range map[string]Config{
		"openai default endpoint needs a key": {Config: httpapi.Config{Model: "gpt-4o"}},
		"azure without endpoint":              {Config: httpapi.Config{Model: "m", APIKey: httpapi.Secret{Inline: "k"}}, Runtime: runners.RuntimeAzureOpenAI},
		"azure api-key without key":           {Config: ok, Runtime: runners.RuntimeAzureOpenAI},
		"azure entra without token":           {Config: ok, Runtime: runners.RuntimeAzureOpenAI, Auth: AzureAuthEntra},
		"azure bad auth":                      {Config: ok, Runtime: runners.RuntimeAzureOpenAI, Auth: "basic"},
		"api_version on openai":               {Config: ok, APIVersion: "2024-10-21"},
		"unknown runtime":                     {Config: ok, Runtime: "anthropic"},
		"bad max tokens field":                {Config: ok, MaxTokensField: "tokens"},
		"bad timeout":                         {Config: httpapi.Config{Endpoint: "https://x", Model: "m", Timeouts: httpapi.Timeouts{Total: -1}}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil", name)
		}
		if _, err := New(Static(c), Options{}); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	for name, c := range map[string]Config{
		"openai":        {Config: httpapi.Config{Model: "gpt-4o", APIKey: httpapi.Secret{Inline: "k"}}},
		"litellm":       {Config: ok, Runtime: runners.RuntimeLiteLLM},
		"compat label":  {Config: httpapi.Config{Endpoint: "http://localhost:8000/v1", Model: "m", Provider: runners.ProviderOpenAICompatible}},
		"azure entra":   {Config: ok, Runtime: runners.RuntimeAzureOpenAI, Auth: AzureAuthEntra, Token: httpapi.Secret{Inline: "t"}},
		"custom openai": {Config: ok},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
	t.Setenv("OPENAI_TEST_UNSET", "")
	_, err := New(Static(Config{Config: httpapi.Config{Model: "gpt-4o", APIKey: httpapi.Secret{FromEnv: "OPENAI_TEST_UNSET"}}}), Options{})
	if err == nil || !strings.Contains(err.Error(), "OPENAI_TEST_UNSET") {
		t.Errorf("unset env key: err = %v, want one naming the variable", err)
	}
}

func TestCompatDialect(t *testing.T) {
	f := newFakeOpenAI(t, "")
	f.noUsage = true
	cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL + "/v1", Model: "llama-3-8b", Provider: runners.ProviderOpenAICompatible}}
	r := mustNew(t, cfg, Options{})
	if r.RuntimeKind() != runners.RuntimeLiteLLM || r.TransportKind().Provider != runners.ProviderOpenAICompatible {
		t.Errorf("kinds = %v, %v", r.RuntimeKind(), r.TransportKind())
	}
	b := userBatch(true, "four little words here")
	topK := int32(5)
	b.Sampling = &messages.Sampling{MaxTokens: 2, TopK: &topK}
	res := wait(t, runAsync(r, context.Background(), b))
	if res.err != nil {
		t.Fatal(res.err)
	}
	last := res.chunks[len(res.chunks)-1]
	if u := last.GetUsage(); !u.GetEstimated() || u.GetOutputTokens() != 2 || u.GetInputTokens() != httpapi.EstimateInputTokens(b) {
		t.Errorf("usage = %v, want estimated with 2 output tokens", u)
	}
	if last.GetFinishReason() != messages.FinishReason_FINISH_REASON_LENGTH {
		t.Errorf("finish = %v", last.GetFinishReason())
	}
	req := f.lastRequest()
	if req.Body.MaxTokens != 2 || req.Body.MaxCompletionTokens != 0 || req.Body.TopK == nil || *req.Body.TopK != 5 {
		t.Errorf("request = %s", req.Raw)
	}
	if req.Header.Get("Authorization") != "" {
		t.Errorf("Authorization sent without a key: %q", req.Header.Get("Authorization"))
	}
}
