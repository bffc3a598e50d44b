package anthropic

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

const testKey = "sk-ant-test-0123456789abcdef"

// signalClock is a fake clock that reports the duration of every timer the
// runner arms, so a test can wait for a specific wait to begin before it
// advances time.
type signalClock struct {
	*clock.Fake
	armed chan time.Duration
}

func (c *signalClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	c.note(d)
	return ch
}

func (c *signalClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	tm := c.Fake.AfterFunc(d, f)
	c.note(d)
	return tm
}

func (c *signalClock) note(d time.Duration) {
	select {
	case c.armed <- d:
	default: // nobody is watching this many timers
	}
}

// waitArmed waits until a timer of duration d has been armed.
func (c *signalClock) waitArmed(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-c.armed:
			if got == d {
				return
			}
		case <-deadline:
			t.Fatalf("no %s timer was armed", d)
		}
	}
}

// newTestRunner returns a runner against f with the inline test key, a
// fake clock and no jitter (backoff waits exactly the hint).
func newTestRunner(t *testing.T, f *fakeServer, mod func(*Config)) (*Runner, *signalClock) {
	t.Helper()
	clk := &signalClock{Fake: clock.NewFake(time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC)), armed: make(chan time.Duration, 64)}
	cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "claude-sonnet-4-20250514",
		APIKey: httpapi.Secret{Inline: testKey}}}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New((cfg), Options{Clock: clk, Jitter: func(time.Duration) time.Duration { return 0 }})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return r, clk
}

func userBatch(text string, stream bool) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{RequestId: "req-1", Model: "claude", Stream: stream,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: text}}}
}

func joined(chunks []*messages.TokenChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.GetText())
	}
	return b.String()
}

// await runs f in a goroutine and returns its result channel, so a test can
// drive the fake clock while f blocks on it.
func await[T any](f func() T) <-chan T {
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	return ch
}

type result struct {
	chunks []*messages.TokenChunk
	err    error
}

func run(r *Runner, ctx context.Context, b *messages.ExecuteBatch) result {
	h, err := r.Execute(ctx, b)
	if err != nil {
		return result{err: err}
	}
	cs, err := runners.ReadAll(h)
	return result{cs, err}
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the runner")
	}
	var zero T
	return zero
}

func TestRunnerStreamAndUnary(t *testing.T) {
	f := newFakeServer(t, testKey)
	r, _ := newTestRunner(t, f, nil)
	for _, stream := range []bool{true, false} {
		res := run(r, context.Background(), userBatch("one two three four", stream))
		if res.err != nil {
			t.Fatalf("stream=%v: %v", stream, res.err)
		}
		if got := joined(res.chunks); got != "one two three four" {
			t.Errorf("stream=%v: text = %q", stream, got)
		}
		last := res.chunks[len(res.chunks)-1]
		if last.GetFinishReason() != messages.FinishReason_FINISH_REASON_STOP || last.GetUsage().GetOutputTokens() != 4 ||
			last.GetCostUsd() <= 0 || last.GetRequestId() != "req-1" || last.GetModel() != "claude-sonnet-4-20250514" {
			t.Errorf("stream=%v: last chunk = %v", stream, last)
		}
		for i, c := range res.chunks {
			if c.GetSeq() != uint32(i) {
				t.Errorf("stream=%v: chunk %d seq = %d", stream, i, c.GetSeq())
			}
		}
		h := f.last().header
		if h.Get("x-api-key") != testKey || h.Get("anthropic-version") != "2023-06-01" {
			t.Errorf("headers = %v", h)
		}
	}
}

func TestRunnerMaxTokensAndStop(t *testing.T) {
	f := newFakeServer(t, testKey)
	r, _ := newTestRunner(t, f, nil)
	b := userBatch("a b c d e f", true)
	b.Sampling = &messages.Sampling{MaxTokens: 2}
	res := run(r, context.Background(), b)
	if res.err != nil || joined(res.chunks) != "a b" || res.chunks[len(res.chunks)-1].GetFinishReason() != messages.FinishReason_FINISH_REASON_LENGTH {
		t.Errorf("max_tokens 2 = %q, %v", joined(res.chunks), res.err)
	}
	b.Sampling = &messages.Sampling{Stop: []string{"d"}}
	res = run(r, context.Background(), b)
	if res.err != nil || joined(res.chunks) != "a b c " || res.chunks[len(res.chunks)-1].GetFinishReason() != messages.FinishReason_FINISH_REASON_STOP {
		t.Errorf("stop d = %q, %v", joined(res.chunks), res.err)
	}
}

// TestRunnerGoldenTranscripts serves the recorded transcripts and keeps the
// runner's chunks (seq, cost, usage) as golden files.
func TestRunnerGoldenTranscripts(t *testing.T) {
	for _, tc := range []struct {
		file   string
		stream bool
	}{{"stream_text.sse", true}, {"stream_tools.sse", true}, {"response_tools.json", false}} {
		t.Run(tc.file, func(t *testing.T) {
			f := newFakeServer(t, testKey)
			f.push(scripted{status: 200, body: string(readTestdata(t, tc.file)), sse: tc.stream})
			r, _ := newTestRunner(t, f, nil)
			res := run(r, context.Background(), userBatch("hi", tc.stream))
			if res.err != nil {
				t.Fatal(res.err)
			}
			checkGolden(t, "runner_"+strings.TrimSuffix(strings.TrimSuffix(tc.file, ".sse"), ".json")+".chunks.json", chunksJSON(t, res.chunks))
			checkGolden(t, "runner_"+strings.TrimSuffix(strings.TrimSuffix(tc.file, ".sse"), ".json")+".request.json", f.last().body)
		})
	}
}

func TestRunnerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp scripted
		code runners.Code
	}{
		{"html 502", scripted{status: 502, header: http.Header{"Content-Type": {"text/html"}}, body: "<html><h1>502 Bad Gateway</h1></html>"}, runners.CodeServerError},
		{"prompt too long", scripted{status: 400, body: `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}`}, runners.CodeContextLengthExceeded},
		{"not found", scripted{status: 404, body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}`}, runners.CodeNotFound},
		{"malformed event", scripted{status: 200, sse: true, body: "event: message_start\ndata: {\"type\":\"message_start\",\n\n"}, runners.CodeServerError},
		{"truncated", scripted{status: 200, sse: true, body: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{}}}\n\n"}, runners.CodeNetwork},
		{"garbage unary", scripted{status: 200, body: "<html>ok</html>"}, runners.CodeServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, testKey)
			f.push(tc.resp)
			r, _ := newTestRunner(t, f, func(c *Config) { c.Retry.NoRetries = true })
			res := run(r, context.Background(), userBatch("hi", tc.resp.sse))
			var e *messages.Error
			if !errors.As(res.err, &e) || e.GetCode() != tc.code {
				t.Fatalf("error = %v, want %s", res.err, tc.code.Slug())
			}
			if e.GetAfterFirstChunk() || len(res.chunks) != 0 {
				t.Errorf("chunks before the error = %d, after_first_chunk %v", len(res.chunks), e.GetAfterFirstChunk())
			}
			if strings.Contains(e.Error(), testKey) {
				t.Error("error quotes the API key")
			}
		})
	}
}

func TestRunner429RetryAfterThenSuccess(t *testing.T) {
	start := time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC) // newTestRunner's clock
	for name, h := range map[string]http.Header{
		"delta seconds": {"Retry-After": {"7"}},
		"milliseconds":  {"Retry-After-Ms": {"7000"}},
		"http date":     {"Retry-After": {start.Add(7 * time.Second).Format(http.TimeFormat)}},
		"reset header": {"Anthropic-Ratelimit-Requests-Remaining": {"0"},
			"Anthropic-Ratelimit-Requests-Reset": {start.Add(7 * time.Second).Format(time.RFC3339)}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeServer(t, testKey)
			f.push(scripted{status: 429, header: h, body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`})
			r, clk := newTestRunner(t, f, nil)
			var mu sync.Mutex
			var reports []*messages.RateLimitFeedback
			r.SetRateLimitSink(func(fb *messages.RateLimitFeedback) { mu.Lock(); reports = append(reports, fb); mu.Unlock() })
			done := await(func() result { return run(r, context.Background(), userBatch("x y", true)) })
			clk.waitArmed(t, 7*time.Second)
			clk.Advance(6 * time.Second)
			if n := f.count(); n != 1 {
				t.Fatalf("requests before the hint elapsed = %d, want 1", n)
			}
			clk.Advance(time.Second)
			res := wait(t, done)
			if res.err != nil || joined(res.chunks) != "x y" {
				t.Fatalf("after 429 = %q, %v", joined(res.chunks), res.err)
			}
			if f.count() != 2 {
				t.Errorf("requests = %d, want 2", f.count())
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reports) == 0 || reports[0].GetRetryAfterMs() != 7000 {
				t.Errorf("rate-limit reports = %v, want a 7000 ms retry hint first", reports)
			}
		})
	}
}

func TestRunner429HintBeyondDeadline(t *testing.T) {
	f := newFakeServer(t, testKey)
	f.push(scripted{status: 429, header: http.Header{"Retry-After": {"3600"}},
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("x", false))
	var e *messages.Error
	if !errors.As(res.err, &e) || e.GetCode() != runners.CodeRateLimited || e.RetryAfter() != time.Hour {
		t.Fatalf("error = %v, want rate_limited with a 1h hint", res.err)
	}
	if f.count() != 1 {
		t.Errorf("requests = %d, want 1 (no waiting)", f.count())
	}
}

func TestRunnerOverloadedThenSuccess(t *testing.T) {
	f := newFakeServer(t, testKey)
	f.push(scripted{status: 529, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`})
	f.push(scripted{status: 200, sse: true, body: string(readTestdata(t, "stream_overloaded.sse"))})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("alpha beta", true))
	if res.err != nil || joined(res.chunks) != "alpha beta" {
		t.Fatalf("after 529 and an overloaded_error event = %q, %v", joined(res.chunks), res.err)
	}
	if f.count() != 3 {
		t.Errorf("requests = %d, want 3", f.count())
	}
}

func TestRunnerOverloadedEventNoRetries(t *testing.T) {
	f := newFakeServer(t, testKey)
	f.push(scripted{status: 200, sse: true, body: string(readTestdata(t, "stream_overloaded.sse"))})
	r, _ := newTestRunner(t, f, func(c *Config) { c.NonIdempotent = true })
	res := run(r, context.Background(), userBatch("alpha", true))
	if c := runners.Classify(res.err); c.Code != runners.CodeServerError || !c.Retryable {
		t.Fatalf("overloaded_error event = %v, want a retryable server_error", res.err)
	}
}

func TestRunnerStreamCutMidway(t *testing.T) {
	f := newFakeServer(t, testKey)
	f.push(scripted{cutAfter: 2})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("one two three four", true))
	var e *messages.Error
	if !errors.As(res.err, &e) || !e.GetAfterFirstChunk() {
		t.Fatalf("cut stream = %v, want an in-band error", res.err)
	}
	if c := runners.Classify(e); c.Code != runners.CodeNetwork {
		t.Errorf("cut code = %s, want network", c.Code.Slug())
	}
	if got := joined(res.chunks); got != "one two" {
		t.Errorf("text before the cut = %q, want %q (no duplicates)", got, "one two")
	}
	if f.count() != 1 {
		t.Errorf("requests = %d, want 1: a started stream is never re-run", f.count())
	}
}

func TestRunnerIdleTimeout(t *testing.T) {
	f := newFakeServer(t, testKey)
	release := f.stallAfter(0)
	defer release()
	r, clk := newTestRunner(t, f, func(c *Config) {
		c.Retry.NoRetries = true
		c.Timeouts.FirstToken = 30 * time.Second
	})
	done := await(func() result { return run(r, context.Background(), userBatch("one two", true)) })
	// message_start and friends arrive before the stall: the first-token
	// timer is then stopped and the idle timer armed. Advance past it.
	clk.waitArmed(t, httpapi.DefaultIdleTimeout)
	clk.Advance(httpapi.DefaultIdleTimeout)
	res := wait(t, done)
	var e *messages.Error
	if !errors.As(res.err, &e) || e.GetCode() != runners.CodeTimeout || e.GetScope() != "idle" {
		t.Fatalf("stall = %v, want an idle timeout", res.err)
	}
}

func TestRunnerHeadersThenSilence(t *testing.T) {
	stallc := make(chan struct{})
	srv := newFakeServer(t, testKey)
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-stallc:
		case <-r.Context().Done():
		}
	})
	defer close(stallc)
	r, clk := newTestRunner(t, srv, func(c *Config) {
		c.Retry.NoRetries = true
		c.Timeouts.FirstToken = 30 * time.Second
	})
	done := await(func() result { return run(r, context.Background(), userBatch("one", true)) })
	clk.waitArmed(t, 30*time.Second)
	clk.Advance(30 * time.Second)
	res := wait(t, done)
	var e *messages.Error
	if !errors.As(res.err, &e) || e.GetCode() != runners.CodeTimeout || e.GetScope() != "first_token" {
		t.Fatalf("silence = %v, want a first_token timeout", res.err)
	}
}

func TestRunnerKeyRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("sk-ant-old-key-000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t, "sk-ant-new-key-111111")
	r, _ := newTestRunner(t, f, func(c *Config) { c.APIKey = httpapi.Secret{FromFile: keyFile} })
	res := run(r, context.Background(), userBatch("hi there", false))
	c := runners.Classify(res.err)
	if !c.SessionFault || c.Cause != runners.RemoteAuthFailure {
		t.Fatalf("401 = %v (class %+v), want a remote_auth_failure session fault", res.err, c)
	}
	if strings.Contains(res.err.Error(), "old-key") {
		t.Error("error quotes the key")
	}
	if err := os.WriteFile(keyFile, []byte("sk-ant-new-key-111111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.RebuildSession(context.Background(), runners.RemoteAuthFailure); err != nil {
		t.Fatal(err)
	}
	res = run(r, context.Background(), userBatch("hi there", false))
	if res.err != nil || joined(res.chunks) != "hi there" {
		t.Fatalf("after rotation = %q, %v", joined(res.chunks), res.err)
	}
	os.Remove(keyFile)
	if err := r.RebuildSession(context.Background(), runners.Manual); err == nil {
		t.Error("RebuildSession with the key file gone = nil, want an error")
	} else if strings.Contains(err.Error(), "new-key") {
		t.Error("rebuild error quotes the key")
	}
}

func TestRunnerConfigChange(t *testing.T) {
	old := newFakeServer(t, testKey)
	release := old.stallAfter(1)
	r, _ := newTestRunner(t, old, nil)
	h, err := r.Execute(context.Background(), userBatch("slow stream here", true))
	if err != nil {
		t.Fatal(err)
	}
	first, err := h.Recv()
	if err != nil || first.GetText() != "slow" {
		t.Fatalf("first chunk = %v, %v", first, err)
	}
	nu := newFakeServer(t, testKey)
	cfg := r.cur.Load().cfg
	cfg.Endpoint = nu.srv.URL
	r.src = Static(cfg) // what a config reload does to the Source
	if err := r.RebuildSession(context.Background(), runners.RemoteConfigChange); err != nil {
		t.Fatal(err)
	}
	res := run(r, context.Background(), userBatch("fresh", false))
	if res.err != nil || joined(res.chunks) != "fresh" || nu.count() != 1 {
		t.Fatalf("after the change = %q, %v (new server saw %d)", joined(res.chunks), res.err, nu.count())
	}
	release()
	rest, err := runners.ReadAll(h)
	if err != nil || joined(rest) != " stream here" {
		t.Fatalf("in-flight stream on the old session = %q, %v", joined(rest), err)
	}
}

func TestRunnerKindsLimitsCost(t *testing.T) {
	f := newFakeServer(t, testKey)
	r, _ := newTestRunner(t, f, func(c *Config) { c.RateLimits = runners.RateLimits{RequestsPerMinute: 50, ConcurrentRequests: 4} })
	if r.RuntimeKind() != runners.RuntimeAnthropic || r.TransportKind() != runners.TransportRemote(runners.ProviderAnthropic) {
		t.Errorf("kinds = %v, %v", r.RuntimeKind(), r.TransportKind())
	}
	if l := r.RateLimits(); l == nil || l.RequestsPerMinute != 50 || l.ConcurrentRequests != 4 {
		t.Errorf("RateLimits = %+v", l)
	}
	b := userBatch("hello world", false)
	b.Sampling = &messages.Sampling{MaxTokens: 1000}
	// claude-sonnet-4: $3 in, $15 out per million; 1000 output tokens alone is $0.015.
	if got := r.EstimateCostUSD(b); got < 0.015 || got > 0.016 {
		t.Errorf("EstimateCostUSD = %v, want about 0.015", got)
	}
	var logs strings.Builder
	u, err := New((Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "claude-99", APIKey: httpapi.Secret{Inline: testKey}}}),
		Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.EstimateCostUSD(b); got >= 0 {
		t.Errorf("EstimateCostUSD(unknown model) = %v, want negative", got)
	}
	u.EstimateCostUSD(b)
	if n := strings.Count(logs.String(), "price unknown"); n != 1 {
		t.Errorf("unknown price logged %d times, want once:\n%s", n, logs.String())
	}
	fb, _ := newTestRunner(t, f, func(c *Config) { c.Model = "claude-99"; c.FallbackPricing = &httpapi.Price{Input: 1, Output: 2} })
	if got := fb.EstimateCostUSD(b); got < 0.002 || got > 0.0021 {
		t.Errorf("EstimateCostUSD(fallback price) = %v, want about 0.002", got)
	}
	res := run(u, context.Background(), userBatch("a", false))
	if res.err != nil || !res.chunks[0].GetCostUnknown() {
		t.Errorf("unknown model chunk = %v, %v; want cost_unknown", res.chunks, res.err)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"no key":      {Config: httpapi.Config{Model: "m"}},
		"no model":    {Config: httpapi.Config{APIKey: httpapi.Secret{Inline: "k"}}},
		"bad beta":    {Config: httpapi.Config{Model: "m", APIKey: httpapi.Secret{Inline: "k"}}, Beta: []string{"a,b"}},
		"bad url":     {Config: httpapi.Config{Model: "m", APIKey: httpapi.Secret{Inline: "k"}, Endpoint: "ftp://x"}},
		"neg timeout": {Config: httpapi.Config{Model: "m", APIKey: httpapi.Secret{Inline: "k"}, Timeouts: httpapi.Timeouts{Idle: -1}}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%s) = nil, want an error", name)
		}
	}
	ok := Config{Config: httpapi.Config{Model: "m", APIKey: httpapi.Secret{Inline: "k"}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(minimal) = %v", err)
	}
}

func TestRunnerOversize(t *testing.T) {
	t.Run("sse line", func(t *testing.T) {
		f := newFakeServer(t, testKey)
		long := strings.Repeat("x", 4096)
		f.push(scripted{status: 200, sse: true, body: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{}}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + long + "\"}}\n\n"})
		r, _ := newTestRunner(t, f, func(c *Config) { c.MaxSSELine = 1024; c.Retry.NoRetries = true })
		res := run(r, context.Background(), userBatch("hi", true))
		if c := runners.Classify(res.err); c.Code != runners.CodeServerError {
			t.Fatalf("oversize SSE line = %v, want server_error", res.err)
		}
	})
	t.Run("unary body", func(t *testing.T) {
		f := newFakeServer(t, testKey)
		f.push(scripted{status: 200, body: `{"type":"message","content":[{"type":"text","text":"` + strings.Repeat("y", MaxResponseBody) + `"}]}`})
		r, _ := newTestRunner(t, f, func(c *Config) { c.Retry.NoRetries = true })
		res := run(r, context.Background(), userBatch("hi", false))
		var e *messages.Error
		if !errors.As(res.err, &e) || e.GetCode() != runners.CodeServerError || !strings.Contains(e.GetMessage(), "over 16 MiB") {
			t.Fatalf("oversize body = %v, want server_error naming the limit", res.err)
		}
	})
}

func TestRunnerOverloadedEventAfterFirstChunk(t *testing.T) {
	f := newFakeServer(t, testKey)
	f.push(scripted{status: 200, sse: true, body: "event: message_start\n" +
		"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Partial\"}}\n\n" +
		"event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n"})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("x", true))
	var e *messages.Error
	if !errors.As(res.err, &e) || e.GetCode() != runners.CodeServerError || !e.GetAfterFirstChunk() {
		t.Fatalf("overloaded_error after text = %v, want an in-band server_error", res.err)
	}
	if joined(res.chunks) != "Partial" || f.count() != 1 {
		t.Errorf("text = %q after %d requests, want %q after 1 (never re-run)", joined(res.chunks), f.count(), "Partial")
	}
}
