package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

const hiRequest = `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`
const hiStream = `{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`

func TestChatUnary(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo-a", "Hello", ", ", "world"))
	s := newTestServer(t, be)
	resp, body := s.chat(t, hiRequest)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if d := resp.Header.Get("X-Actorinfer-Deployment"); d != "demo-a" {
		t.Errorf("x-actorinfer-deployment = %q, want demo-a", d)
	}
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			Prompt, Completion, Total int64
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("body: %v: %s", err, body)
	}
	if !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Created != fixedNow.Unix() ||
		c.Model != "demo" || len(c.Choices) != 1 || c.Choices[0].Message.Role != "assistant" ||
		c.Choices[0].Message.Content != "Hello, world" || c.Choices[0].FinishReason != "stop" {
		t.Errorf("completion = %s", body)
	}
}

func TestChatToolCalls(t *testing.T) {
	be := newTestBackend().on("demo", func(_ context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
		return &runners.SliceHandle{Chunks: []*messages.TokenChunk{
			{Deployment: "demo", ToolCalls: []*messages.ToolCallDelta{{Index: 0, Id: "call_1", Name: "get_weather", Arguments: `{"city":`}}},
			{ToolCalls: []*messages.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}, {Index: 1, Id: "call_2", Name: "noop"}}},
			{Deployment: "demo", FinishReason: messages.FinishReason_FINISH_REASON_TOOL_CALLS,
				Usage: &messages.Usage{InputTokens: 3, OutputTokens: 9}},
		}}, nil
	})
	s := newTestServer(t, be)
	resp, body := s.chat(t, hiRequest)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d: %s", resp.StatusCode, body)
	}
	var c struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	m := c.Choices[0].Message
	if m.Content != nil || len(m.ToolCalls) != 2 || m.ToolCalls[0].ID != "call_1" || m.ToolCalls[0].Type != "function" ||
		m.ToolCalls[0].Function.Name != "get_weather" || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		m.ToolCalls[1].Function.Name != "noop" || c.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("tool call completion = %s", body)
	}
}

func TestChatErrorStatuses(t *testing.T) {
	code := func(c messages.ErrorCode) *messages.Error { return &messages.Error{Code: c, Message: "boom"} }
	tests := []struct {
		name       string
		err        error
		status     int
		typ, code  string
		retryAfter string
	}{
		{"bad request", code(runners.CodeBadRequest), 400, "invalid_request_error", "bad_request", ""},
		{"context length", code(runners.CodeContextLengthExceeded), 400, "invalid_request_error", "context_length_exceeded", ""},
		{"content filter", code(runners.CodeContentFiltered), 400, "invalid_request_error", "content_filter", ""},
		{"unsupported", code(runners.CodeUnsupported), 400, "invalid_request_error", "unsupported", ""},
		{"model not found", code(runners.CodeNotFound), 404, "invalid_request_error", "model_not_found", ""},
		{"upstream not found", &messages.Error{Code: runners.CodeNotFound, Provider: "openai", HttpStatus: 404}, 502, "server_error", "upstream_not_found", ""},
		{"rate limited", runners.RateLimitedError("rpm", 1500*time.Millisecond, "slow down"), 429, "rate_limit_error", "rate_limit_exceeded", "2"},
		{"backpressure", &messages.Error{Code: runners.CodeBackpressure, Scope: "queue"}, 429, "rate_limit_error", "backpressure", "1"},
		{"budget", &messages.Error{Code: runners.CodeBudgetExceeded, Scope: "hour",
			ResetsAtUnixNano: fixedNow.Add(90 * time.Second).UnixNano()}, 429, "rate_limit_error", "budget_exceeded", "90"},
		{"upstream unauthorized", code(runners.CodeUnauthorized), 502, "server_error", "upstream_unauthorized", ""},
		{"upstream forbidden", code(runners.CodeForbidden), 502, "server_error", "upstream_forbidden", ""},
		{"server error", code(runners.CodeServerError), 502, "server_error", "upstream_error", ""},
		{"network", code(runners.CodeNetwork), 502, "server_error", "upstream_network_error", ""},
		{"circuit open", &messages.Error{Code: runners.CodeCircuitOpen, RetryAfterMs: 30000}, 503, "server_error", "circuit_open", "30"},
		{"cuda poisoned", code(runners.CodeCudaContextPoisoned), 503, "server_error", "replica_unavailable", "1"},
		{"timeout", code(runners.CodeTimeout), 504, "server_error", "timeout", ""},
		{"internal", code(runners.CodeInternal), 500, "server_error", "internal_error", ""},
		{"untyped", context.Canceled, 503, "server_error", "cancelled", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				// Stream failures before the first chunk are proper HTTP errors too.
				var sc script = fail(tt.err)
				if stream {
					sc = cut("demo", tt.err)
				}
				s := newTestServer(t, newTestBackend().on("demo", sc))
				req := hiRequest
				if stream {
					req = hiStream
				}
				resp, body := s.chat(t, req)
				if resp.StatusCode != tt.status {
					t.Fatalf("stream=%v: status = %d, want %d: %s", stream, resp.StatusCode, tt.status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("stream=%v: Content-Type = %q", stream, ct)
				}
				e := parseError(t, body)
				if e.Error.Type != tt.typ || deref(e.Error.Code) != tt.code {
					t.Errorf("stream=%v: error = %s, want type %s code %s", stream, body, tt.typ, tt.code)
				}
				if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("stream=%v: Retry-After = %q, want %q", stream, got, tt.retryAfter)
				}
			}
		})
	}
}

func TestChatInternalErrorHidesMessage(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", fail(runners.Errorf(runners.CodeInternal, "secret path /etc/x"))))
	_, body := s.chat(t, hiRequest)
	if strings.Contains(body, "/etc/x") {
		t.Errorf("internal error leaks its message: %s", body)
	}
}

func TestChatUnknownModel(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")))
	resp, body := s.chat(t, `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`)
	e := parseError(t, body)
	if resp.StatusCode != 404 || deref(e.Error.Code) != "model_not_found" || deref(e.Error.Param) != "model" {
		t.Errorf("unknown model = %d %s", resp.StatusCode, body)
	}
}

func TestChatValidationError(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")))
	resp, body := s.chat(t, `{"model":"demo","n":3,"messages":[{"role":"user","content":"hi"}]}`)
	e := parseError(t, body)
	if resp.StatusCode != 400 || deref(e.Error.Param) != "n" || e.Error.Type != "invalid_request_error" {
		t.Errorf("n=3 = %d %s", resp.StatusCode, body)
	}
	if len(s.be.batches) != 0 {
		t.Errorf("an invalid request reached the backend")
	}
}

func TestChatBodyLimit(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")), func(o *Options) { o.MaxBodyBytes = 100 })
	big := `{"model":"demo","messages":[{"role":"user","content":"` + strings.Repeat("x", 200) + `"}]}`
	resp, body := s.chat(t, big)
	e := parseError(t, body)
	if resp.StatusCode != 413 || deref(e.Error.Code) != "request_too_large" {
		t.Errorf("oversized body = %d %s", resp.StatusCode, body)
	}
	// Without a Content-Length the limit holds while reading.
	req, _ := http.NewRequest("POST", s.URL+"/v1/chat/completions", struct{ *strings.Reader }{strings.NewReader(big)})
	req.ContentLength = -1
	r2, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 413 {
		t.Errorf("chunked oversized body = %d, want 413", r2.StatusCode)
	}
	if resp, body := s.chat(t, hiRequest); resp.StatusCode != 200 {
		t.Errorf("small body = %d %s", resp.StatusCode, body)
	}
}

// sseEvents reads a stream's data lines.
func sseEvents(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, d)
		} else if line != "" {
			t.Errorf("unexpected SSE line %q", line)
		}
	}
	return out
}

func TestChatStream(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo-a", "Hel", "lo")))
	resp, body := s.chat(t, hiStream)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" ||
		resp.Header.Get("X-Actorinfer-Deployment") != "demo-a" {
		t.Fatalf("stream = %d %v", resp.StatusCode, resp.Header)
	}
	ev := sseEvents(t, body)
	if len(ev) != 6 || ev[5] != "[DONE]" {
		t.Fatalf("events = %q, want role, 2 content, finish, usage, [DONE]", ev)
	}
	var text strings.Builder
	for i, e := range ev[:5] {
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct {
					Role    string  `json:"role"`
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				TotalTokens int64 `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("event %d %q: %v", i, e, err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("event %d object = %q", i, c.Object)
		}
		switch i {
		case 0:
			if c.Choices[0].Delta.Role != "assistant" {
				t.Errorf("first delta = %s", e)
			}
		case 3:
			if deref(c.Choices[0].FinishReason) != "stop" {
				t.Errorf("finish event = %s", e)
			}
		case 4:
			if len(c.Choices) != 0 || c.Usage == nil || c.Usage.TotalTokens != 14 {
				t.Errorf("usage event = %s", e)
			}
		default:
			if c.Choices[0].FinishReason != nil {
				t.Errorf("content event %d has a finish reason: %s", i, e)
			}
		}
		if i < 4 && c.Choices[0].Delta.Content != nil {
			text.WriteString(*c.Choices[0].Delta.Content)
		}
	}
	if text.String() != "Hello" {
		t.Errorf("streamed text = %q", text.String())
	}

	// Without include_usage there is no usage event.
	_, body = s.chat(t, `{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if ev := sseEvents(t, body); len(ev) != 5 || strings.Contains(body, `"usage"`) {
		t.Errorf("events without include_usage = %q", ev)
	}
}

func TestChatStreamInBandError(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo",
		cut("demo-a", &messages.Error{Code: runners.CodeServerError, Message: "upstream 500"}, "Hel", "lo")))
	resp, body := s.chat(t, hiStream)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200 (committed before the failure)", resp.StatusCode)
	}
	ev := sseEvents(t, body)
	if len(ev) != 4 {
		t.Fatalf("events = %q, want role, 2 content, error", ev)
	}
	last := ev[len(ev)-1]
	e := parseError(t, last)
	if e.Error.Type != "server_error" || deref(e.Error.Code) != "upstream_error" {
		t.Errorf("in-band error = %s", last)
	}
	if strings.Contains(body, "[DONE]") || strings.Contains(body, `"finish_reason":"`) || strings.Contains(body, `"usage"`) {
		t.Errorf("a failed stream looks complete:\n%s", body)
	}
}

func TestChatRequestTimeout(t *testing.T) {
	for _, stream := range []bool{false, true} {
		h := newHang("")
		s := newTestServer(t, newTestBackend().on("slow", h.script), func(o *Options) { o.RequestTimeout = 20 * time.Millisecond })
		resp, body := s.chat(t, `{"model":"slow","stream":`+map[bool]string{false: "false", true: "true"}[stream]+`,"messages":[{"role":"user","content":"hi"}]}`)
		e := parseError(t, body)
		if resp.StatusCode != 504 || deref(e.Error.Code) != "timeout" {
			t.Errorf("stream=%v: timed out request = %d %s", stream, resp.StatusCode, body)
		}
		if err := within(t, h.cancelled, "the backend to see the timeout"); err != context.DeadlineExceeded {
			t.Errorf("backend context error = %v, want DeadlineExceeded", err)
		}
		if b := s.be.lastBatch(); b.GetDeadlineUnixNano() != fixedNow.Add(20*time.Millisecond).UnixNano() {
			t.Errorf("batch deadline = %d", b.GetDeadlineUnixNano())
		}
	}
}

func TestClientDisconnectCancels(t *testing.T) {
	for _, tc := range []struct {
		name, first string
		stream      bool
	}{
		{"stream after first chunk", "tok", true},
		{"stream before first chunk", "", true},
		{"unary", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHang(tc.first)
			s := newTestServer(t, newTestBackend().on("slow", h.script))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := `{"model":"slow","stream":` + map[bool]string{false: "false", true: "true"}[tc.stream] +
				`,"messages":[{"role":"user","content":"hi"}]}`
			req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/v1/chat/completions", strings.NewReader(body))
			got := make(chan error, 1)
			go func() {
				resp, err := s.Client().Do(req)
				if err == nil {
					// Read the first event, proving the stream committed.
					line, rerr := bufio.NewReader(resp.Body).ReadString('\n')
					if rerr == nil && !strings.HasPrefix(line, "data: ") {
						t.Errorf("first line = %q", line)
					}
					resp.Body.Close()
				}
				got <- err
			}()
			within(t, h.started, "the backend to start")
			if tc.first != "" {
				if err := within(t, got, "the first event"); err != nil {
					t.Fatalf("request: %v", err)
				}
			}
			cancel()
			if err := within(t, h.cancelled, "the backend's context to be cancelled"); err != context.Canceled {
				t.Errorf("backend context error = %v, want context.Canceled", err)
			}
			within(t, h.closed, "the handle to be closed")
		})
	}
}

// deaf is a backend whose stream ignores its context: only Close ends a
// blocked Recv.
func deaf(context.Context, *messages.ExecuteBatch) (runners.RunHandle, error) {
	p, _ := runners.NewPipe(context.Background(), 1)
	return p, nil
}

func TestChatDeafBackendTimesOut(t *testing.T) {
	for _, req := range []string{`{"model":"deaf",` + strings.TrimPrefix(hiStream, `{"model":"demo",`), `{"model":"deaf",` + strings.TrimPrefix(hiRequest, `{"model":"demo",`)} {
		s := newTestServer(t, newTestBackend().on("deaf", deaf), func(o *Options) { o.RequestTimeout = 20 * time.Millisecond })
		resp, body := s.chat(t, req)
		if e := parseError(t, body); resp.StatusCode != 504 || deref(e.Error.Code) != "timeout" {
			t.Errorf("%s: deaf backend = %d %s, want 504 timeout", req, resp.StatusCode, body)
		}
	}
}

func TestChatStreamTimeoutAfterFirstChunk(t *testing.T) {
	h := newHang("tok")
	s := newTestServer(t, newTestBackend().on("slow", h.script), func(o *Options) { o.RequestTimeout = 20 * time.Millisecond })
	resp, body := s.chat(t, `{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, want 200 (committed)", resp.StatusCode)
	}
	ev := sseEvents(t, body)
	if len(ev) != 3 {
		t.Fatalf("events = %q, want role, tok, error", ev)
	}
	if e := parseError(t, ev[2]); deref(e.Error.Code) != "timeout" {
		t.Errorf("in-band error = %s, want timeout", ev[2])
	}
	if strings.Contains(body, "[DONE]") {
		t.Errorf("a timed-out stream ended with [DONE]")
	}
	within(t, h.closed, "the handle to be closed")
}

func TestChatHints(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")))
	resp, body := s.chat(t, hiRequest, HeaderPriority, "7", HeaderTier, "premium", HeaderMaxCostUSD, "0.25")
	b := s.be.lastBatch()
	if resp.StatusCode != 200 || b.GetPriority() != 7 || b.GetTier() != "premium" || b.GetMaxCostUsd() != 0.25 {
		t.Errorf("hints = %d %s; batch priority %d tier %q max cost %v", resp.StatusCode, body, b.GetPriority(), b.GetTier(), b.GetMaxCostUsd())
	}
	for _, h := range [][2]string{{HeaderPriority, "high"}, {HeaderPriority, "99999999999"}, {HeaderTier, "a b"},
		{HeaderTier, strings.Repeat("t", 65)}, {HeaderMaxCostUSD, "-1"}, {HeaderMaxCostUSD, "NaN"}, {HeaderMaxCostUSD, "Inf"}} {
		resp, body := s.chat(t, hiRequest, h[0], h[1])
		if e := parseError(t, body); resp.StatusCode != 400 || deref(e.Error.Param) != h[0] {
			t.Errorf("%s: %q = %d %s, want 400 naming the header", h[0], h[1], resp.StatusCode, body)
		}
	}
}
