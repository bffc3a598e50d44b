package gemini

import (
	"context"
	"errors"
	"net/http"
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

const testKey = "AIzaSyTest-0123456789abcdefghij"

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
	default:
	}
}

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

func newClock() *signalClock {
	return &signalClock{Fake: clock.NewFake(time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC)), armed: make(chan time.Duration, 64)}
}

// newTestRunner returns an AI Studio runner against f with the inline test
// key, a fake clock and no jitter.
func newTestRunner(t *testing.T, f *fakeServer, mod func(*Config)) (*Runner, *signalClock) {
	t.Helper()
	clk := newClock()
	cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "gemini-2.0-flash", APIKey: httpapi.Secret{Inline: testKey}}}
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
	return &messages.ExecuteBatch{RequestId: "req-1", Model: "gemini", Stream: stream,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: text}}}
}

func joined(chunks []*messages.TokenChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.GetText())
	}
	return b.String()
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

func runAsync(r *Runner, b *messages.ExecuteBatch) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- run(r, context.Background(), b) }()
	return ch
}

func wait(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the runner")
	}
	return result{}
}

func TestRunnerStreamAndUnary(t *testing.T) {
	f := newFakeServer(t, testKey, false)
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
			last.GetUsage().GetInputTokens() != 4 || last.GetCostUsd() <= 0 || last.GetRequestId() != "req-1" {
			t.Errorf("stream=%v: last chunk = %v", stream, last)
		}
		for i, c := range res.chunks {
			if c.GetSeq() != uint32(i) {
				t.Errorf("stream=%v: chunk %d seq = %d", stream, i, c.GetSeq())
			}
		}
		want := "/v1beta/models/gemini-2.0-flash:generateContent"
		if stream {
			want = "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
		}
		if got := f.last(); got.path != want || got.header.Get("x-goog-api-key") != testKey || got.header.Get("Authorization") != "" {
			t.Errorf("stream=%v: request %s with headers %v, want %s with x-goog-api-key", stream, got.path, got.header, want)
		}
	}
}

func TestRunnerMaxTokensAndStop(t *testing.T) {
	f := newFakeServer(t, testKey, false)
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
// runner's chunks (seq, cost, usage) and request bodies as golden files.
func TestRunnerGoldenTranscripts(t *testing.T) {
	for _, tc := range []struct {
		file   string
		stream bool
	}{{"stream_text.sse", true}, {"stream_tools.sse", true}, {"stream_safety.sse", true}, {"response_text.json", false}} {
		t.Run(tc.file, func(t *testing.T) {
			f := newFakeServer(t, testKey, false)
			f.push(scripted{status: 200, body: string(readTestdata(t, tc.file)), sse: tc.stream})
			r, _ := newTestRunner(t, f, func(c *Config) {
				if strings.Contains(tc.file, "tools") {
					c.Model = "gemini-2.5-flash"
				}
			})
			res := run(r, context.Background(), userBatch("hi", tc.stream))
			if res.err != nil {
				t.Fatal(res.err)
			}
			name := strings.TrimSuffix(strings.TrimSuffix(tc.file, ".sse"), ".json")
			checkGolden(t, "runner_"+name+".chunks.json", chunksJSON(t, res.chunks))
			checkGolden(t, "runner_"+name+".request.json", f.last().body)
		})
	}
}

func TestRunnerErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resp  scripted
		code  runners.Code
		retry time.Duration
	}{
		{"html 502", scripted{status: 502, header: http.Header{"Content-Type": {"text/html"}}, body: "<html><h1>502 Bad Gateway</h1></html>"}, runners.CodeServerError, 0},
		{"context length", scripted{status: 400, body: `{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}`}, runners.CodeContextLengthExceeded, 0},
		{"invalid argument", scripted{status: 400, body: `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}`}, runners.CodeBadRequest, 0},
		{"permission", scripted{status: 403, body: `{"error":{"code":403,"message":"Permission denied on resource project x.","status":"PERMISSION_DENIED"}}`}, runners.CodeForbidden, 0},
		{"not found", scripted{status: 404, body: `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`}, runners.CodeNotFound, 0},
		{"deadline", scripted{status: 504, body: `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`}, runners.CodeTimeout, 0},
		{"internal", scripted{status: 500, body: `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`}, runners.CodeServerError, 0},
		{"quota", scripted{status: 429, body: string(readTestdata(t, "error_429.json"))}, runners.CodeRateLimited, 17 * time.Second},
		{"prompt blocked", scripted{status: 200, sse: true, body: string(readTestdata(t, "stream_prompt_blocked.sse"))}, runners.CodeContentFiltered, 0},
		{"malformed event", scripted{status: 200, sse: true, body: "data: {\"candidates\": [\r\n\r\n"}, runners.CodeServerError, 0},
		{"cut before finish", scripted{status: 200, sse: true, body: "data: {\"candidates\":[{\"content\":{\"parts\":[]}}]}\n\n"}, runners.CodeServerError, 0},
		{"garbage unary", scripted{status: 200, body: "<html>ok</html>"}, runners.CodeServerError, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, testKey, false)
			f.push(tc.resp)
			r, _ := newTestRunner(t, f, func(c *Config) { c.Retry.NoRetries = true })
			res := run(r, context.Background(), userBatch("hi", tc.resp.sse))
			var e *messages.Error
			if !errors.As(res.err, &e) || e.GetCode() != tc.code || e.RetryAfter() != tc.retry {
				t.Fatalf("error = %v, want %s with retry hint %v", res.err, tc.code.Slug(), tc.retry)
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

func TestRunner429RetryInfoThenSuccess(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	f.push(scripted{status: 429, body: string(readTestdata(t, "error_429.json"))})
	r, clk := newTestRunner(t, f, nil)
	var mu sync.Mutex
	var reports []*messages.RateLimitFeedback
	r.SetRateLimitSink(func(fb *messages.RateLimitFeedback) { mu.Lock(); reports = append(reports, fb); mu.Unlock() })
	done := runAsync(r, userBatch("x y", true))
	clk.waitArmed(t, 17*time.Second)
	clk.Advance(16 * time.Second)
	if n := f.count(); n != 1 {
		t.Fatalf("requests before the RetryInfo delay elapsed = %d, want 1", n)
	}
	clk.Advance(time.Second)
	res := wait(t, done)
	if res.err != nil || joined(res.chunks) != "x y" {
		t.Fatalf("after 429 = %q, %v", joined(res.chunks), res.err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 || reports[0].GetRetryAfterMs() != 17000 {
		t.Errorf("rate-limit reports = %v, want a 17000 ms retry hint", reports)
	}
}

func TestRunner429HintBeyondBackoff(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	f.push(scripted{status: 429, body: strings.Replace(string(readTestdata(t, "error_429.json")), `"17s"`, `"3600s"`, 1)})
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

func TestRunnerUnavailableThenSuccess(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	f.push(scripted{status: 503, body: `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`})
	f.push(scripted{status: 200, sse: true, body: "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n"})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("alpha beta", true))
	if res.err != nil || joined(res.chunks) != "alpha beta" {
		t.Fatalf("after 503 and an in-stream UNAVAILABLE = %q, %v", joined(res.chunks), res.err)
	}
	if f.count() != 3 {
		t.Errorf("requests = %d, want 3", f.count())
	}
}

func TestRunnerInStreamErrorAfterFirstChunk(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	f.push(scripted{status: 200, sse: true, body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}]}\r\n\r\n" +
		"data: {\"error\":{\"code\":429,\"message\":\"Resource exhausted.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"2.5s\"}]}}\r\n\r\n"})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("x", true))
	var e *messages.Error
	if !errors.As(res.err, &e) || e.GetCode() != runners.CodeRateLimited || !e.GetAfterFirstChunk() || e.GetRetryAfterMs() != 2500 {
		t.Fatalf("in-stream 429 = %v, want in-band rate_limited with a 2.5s hint", res.err)
	}
	if joined(res.chunks) != "Hel" || f.count() != 1 {
		t.Errorf("text = %q after %d requests, want %q after 1", joined(res.chunks), f.count(), "Hel")
	}
}

func TestRunnerStreamCutMidway(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	f.push(scripted{cutAfter: 2})
	r, _ := newTestRunner(t, f, nil)
	res := run(r, context.Background(), userBatch("one two three four", true))
	var e *messages.Error
	if !errors.As(res.err, &e) || !e.GetAfterFirstChunk() || e.GetCode() != runners.CodeNetwork {
		t.Fatalf("cut stream = %v, want an in-band network error", res.err)
	}
	if got := joined(res.chunks); got != "one two" {
		t.Errorf("text before the cut = %q, want %q (no duplicates)", got, "one two")
	}
	if f.count() != 1 {
		t.Errorf("requests = %d, want 1: a started stream is never re-run", f.count())
	}
}

func TestRunnerTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newFakeServer(t, testKey, false)
		release := f.stallAfter(1)
		defer release()
		r, clk := newTestRunner(t, f, func(c *Config) { c.Timeouts.Idle = 5 * time.Second })
		done := runAsync(r, userBatch("one two", true))
		clk.waitArmed(t, 5*time.Second)
		clk.Advance(5 * time.Second)
		res := wait(t, done)
		var e *messages.Error
		if !errors.As(res.err, &e) || e.GetCode() != runners.CodeTimeout || e.GetScope() != "idle" || !e.GetAfterFirstChunk() {
			t.Fatalf("idle gap = %v, want an in-band idle timeout", res.err)
		}
		if joined(res.chunks) != "one" {
			t.Errorf("text = %q, want %q", joined(res.chunks), "one")
		}
	})
	t.Run("first token", func(t *testing.T) {
		f := newFakeServer(t, testKey, false)
		release := f.stallAfter(0)
		defer release()
		r, clk := newTestRunner(t, f, func(c *Config) {
			c.Retry.NoRetries = true
			c.Timeouts.FirstToken = 30 * time.Second
		})
		done := runAsync(r, userBatch("one two", true))
		clk.waitArmed(t, 30*time.Second)
		clk.Advance(30 * time.Second)
		res := wait(t, done)
		var e *messages.Error
		if !errors.As(res.err, &e) || e.GetCode() != runners.CodeTimeout || e.GetScope() != "first_token" || e.GetAfterFirstChunk() {
			t.Fatalf("stall before the first token = %v, want a first_token timeout", res.err)
		}
	})
}

func TestRunnerKeyRotation(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("AIza-old-key-000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t, "AIza-new-key-111111", false)
	r, _ := newTestRunner(t, f, func(c *Config) { c.APIKey = httpapi.Secret{FromFile: keyFile} })
	res := run(r, context.Background(), userBatch("hi there", false))
	c := runners.Classify(res.err)
	if !c.SessionFault || c.Cause != runners.RemoteAuthFailure {
		t.Fatalf("bad key = %v (class %+v), want a remote_auth_failure session fault", res.err, c)
	}
	if strings.Contains(res.err.Error(), "old-key") {
		t.Error("error quotes the key")
	}
	if err := os.WriteFile(keyFile, []byte("AIza-new-key-111111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.RebuildSession(context.Background(), runners.RemoteAuthFailure); err != nil {
		t.Fatal(err)
	}
	if res = run(r, context.Background(), userBatch("hi there", false)); res.err != nil || joined(res.chunks) != "hi there" {
		t.Fatalf("after rotation = %q, %v", joined(res.chunks), res.err)
	}
}

func TestVertexToken(t *testing.T) {
	f := newFakeServer(t, "ya29.token-1", true)
	var calls atomic.Int32
	var current atomic.Value
	current.Store("ya29.token-1")
	clk := newClock()
	src := TokenFunc(func(context.Context) (Token, error) {
		calls.Add(1)
		return Token{Value: current.Load().(string), Expiry: clk.Now().Add(10 * time.Minute)}, nil
	})
	cfg := Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "gemini-2.5-flash"},
		Vertex: true, Project: "test-project", Location: "us-central1", Token: src}
	r, err := New((cfg), Options{Clock: clk, Jitter: func(time.Duration) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	res := run(r, context.Background(), userBatch("a b", true))
	if res.err != nil || joined(res.chunks) != "a b" {
		t.Fatalf("vertex stream = %q, %v", joined(res.chunks), res.err)
	}
	if got, want := f.last().path, "/v1/projects/test-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"; got != want {
		t.Errorf("path = %s, want %s", got, want)
	}
	if f.last().header.Get("x-goog-api-key") != "" {
		t.Error("vertex request carries an API key header")
	}
	run(r, context.Background(), userBatch("a", false))
	if n := calls.Load(); n != 1 {
		t.Errorf("token fetches for two requests = %d, want 1 (cached)", n)
	}

	// Expiry: within a minute of it the token is renewed.
	clk.Advance(9*time.Minute + time.Second)
	current.Store("ya29.token-2")
	f.setKey("ya29.token-2")
	if res := run(r, context.Background(), userBatch("a", false)); res.err != nil {
		t.Fatalf("after expiry = %v", res.err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("token fetches after expiry = %d, want 2", n)
	}

	// A 401 (token revoked early) renews the token and sends once more.
	current.Store("ya29.token-3")
	f.setKey("ya29.token-3")
	if res := run(r, context.Background(), userBatch("b", true)); res.err != nil || joined(res.chunks) != "b" {
		t.Fatalf("after a 401 = %q, %v", joined(res.chunks), res.err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("token fetches after a 401 = %d, want 3", n)
	}

	// A token the provider keeps refusing is a session fault.
	f.setKey("ya29.revoked-everything")
	res = run(r, context.Background(), userBatch("c", false))
	if c := runners.Classify(res.err); !c.SessionFault || c.Cause != runners.RemoteAuthFailure {
		t.Fatalf("persistent 401 = %v, want a remote_auth_failure session fault", res.err)
	}
	if strings.Contains(res.err.Error(), "ya29.") {
		t.Error("error quotes the token")
	}
}

func TestVertexTokenFailure(t *testing.T) {
	f := newFakeServer(t, "t", true)
	broken := TokenFunc(func(context.Context) (Token, error) { return Token{}, errors.New("metadata server unreachable") })
	_, err := New((Config{Config: httpapi.Config{Endpoint: f.srv.URL, Model: "gemini-2.5-flash"},
		Vertex: true, Project: "test-project", Location: "us-central1", Token: broken}), Options{})
	if err == nil {
		t.Fatal("New with a broken token source = nil, want an error")
	}
}

func TestCommandToken(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tok, err := CommandToken{Argv: []string{"sh", "-c", "echo ya29.from-command"}, Now: func() time.Time { return now }}.Token(context.Background())
	if err != nil || tok.Value != "ya29.from-command" || !tok.Expiry.Equal(now.Add(DefaultTokenLifetime)) {
		t.Fatalf("CommandToken = %+v, %v", tok, err)
	}
	if _, err := (CommandToken{Argv: []string{"sh", "-c", "echo oops >&2; exit 3"}}).Token(context.Background()); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("failing command = %v, want its stderr quoted", err)
	}
	if _, err := (CommandToken{Argv: []string{"sh", "-c", "echo two words"}}).Token(context.Background()); err == nil {
		t.Error("command printing two words accepted")
	}
}

func TestRunnerConfigChange(t *testing.T) {
	old := newFakeServer(t, testKey, false)
	release := old.stallAfter(1)
	r, _ := newTestRunner(t, old, nil)
	h, err := r.Execute(context.Background(), userBatch("slow stream here", true))
	if err != nil {
		t.Fatal(err)
	}
	if first, err := h.Recv(); err != nil || first.GetText() != "slow" {
		t.Fatalf("first chunk = %v, %v", first, err)
	}
	nu := newFakeServer(t, testKey, false)
	cfg := r.st.Load().cfg
	cfg.Endpoint = nu.srv.URL
	r.src = Static(cfg) // what a config reload does to the Source
	if err := r.RebuildSession(context.Background(), runners.RemoteConfigChange); err != nil {
		t.Fatal(err)
	}
	if res := run(r, context.Background(), userBatch("fresh", false)); res.err != nil || joined(res.chunks) != "fresh" || nu.count() != 1 {
		t.Fatalf("after the change = %q, %v (new server saw %d)", joined(res.chunks), res.err, nu.count())
	}
	release()
	rest, err := runners.ReadAll(h)
	if err != nil || joined(rest) != " stream here" {
		t.Fatalf("in-flight stream on the old session = %q, %v", joined(rest), err)
	}
}

func TestRunnerKindsLimitsCost(t *testing.T) {
	f := newFakeServer(t, testKey, false)
	r, _ := newTestRunner(t, f, func(c *Config) { c.RateLimits = runners.RateLimits{TokensPerMinute: 1e6} })
	if r.RuntimeKind() != runners.RuntimeGemini || r.TransportKind() != runners.TransportRemote(runners.ProviderGemini) {
		t.Errorf("kinds = %v, %v", r.RuntimeKind(), r.TransportKind())
	}
	if l := r.RateLimits(); l == nil || l.TokensPerMinute != 1e6 {
		t.Errorf("RateLimits = %+v", l)
	}
	b := userBatch("hello world", false)
	b.Sampling = &messages.Sampling{MaxTokens: 1000}
	// gemini-2.0-flash: $0.10 in, $0.40 out per million: 1000 output tokens is $0.0004.
	if got := r.EstimateCostUSD(b); got < 0.0004 || got > 0.00041 {
		t.Errorf("EstimateCostUSD = %v, want about 0.0004", got)
	}
	u, _ := newTestRunner(t, f, func(c *Config) { c.Model = "gemini-99-ultra" })
	if got := u.EstimateCostUSD(b); got >= 0 {
		t.Errorf("EstimateCostUSD(unknown model) = %v, want negative", got)
	}
}

func TestConfigValidate(t *testing.T) {
	key := httpapi.Secret{Inline: "k"}
	tok := SecretToken{Secret: key}
	for name, c := range map[string]Config{
		"no key":           {Config: httpapi.Config{Model: "m"}},
		"no model":         {Config: httpapi.Config{APIKey: key}},
		"model with colon": {Config: httpapi.Config{Model: "m:x", APIKey: key}},
		"vertex no proj":   {Config: httpapi.Config{Model: "m"}, Vertex: true, Location: "us-central1", Token: tok},
		"vertex no loc":    {Config: httpapi.Config{Model: "m"}, Vertex: true, Project: "p", Token: tok},
		"vertex no cred":   {Config: httpapi.Config{Model: "m"}, Vertex: true, Project: "p", Location: "l"},
		"token on studio":  {Config: httpapi.Config{Model: "m", APIKey: key}, Token: tok},
		"bad project":      {Config: httpapi.Config{Model: "m"}, Vertex: true, Project: "a/b", Location: "l", Token: tok},
		"negative max":     {Config: httpapi.Config{Model: "m", APIKey: key}, MaxOutputTokens: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%s) = nil, want an error", name)
		}
	}
	for name, c := range map[string]Config{
		"studio": {Config: httpapi.Config{Model: "models/gemini-2.0-flash", APIKey: key}},
		"vertex": {Config: httpapi.Config{Model: "gemini-2.5-pro"}, Vertex: true, Project: "p", Location: "global", Token: tok},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", name, err)
		}
	}
	if got := (Config{Vertex: true, Location: "europe-west4"}).withDefaults().Endpoint; got != "https://europe-west4-aiplatform.googleapis.com" {
		t.Errorf("vertex endpoint = %s", got)
	}
}

func TestURLs(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		method string
		want   string
	}{
		{Config{Config: httpapi.Config{Model: "models/gemini-2.0-flash"}}, "generateContent",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"},
		{Config{Config: httpapi.Config{Model: "gemini-2.5-pro"}, Vertex: true, Project: "my-proj", Location: "global"}, "streamGenerateContent",
			"https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"},
		{Config{Config: httpapi.Config{Model: "gemini-2.5-flash"}, Vertex: true, Project: "p", Location: "europe-west4"}, "generateContent",
			"https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"},
		{Config{Config: httpapi.Config{Model: "gemini-2.0-flash", Endpoint: "https://proxy.example/gemini/"}, APIVersion: "v1"}, "generateContent",
			"https://proxy.example/gemini/v1/models/gemini-2.0-flash:generateContent"},
	} {
		st := &state{cfg: tc.cfg.withDefaults()}
		if got := st.url(tc.method); got != tc.want {
			t.Errorf("url(%+v) = %s, want %s", tc.cfg, got, tc.want)
		}
	}
}
