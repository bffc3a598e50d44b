package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/actorinfer/actorinfer/config"
)

// upstream is a minimal OpenAI Chat Completions server: it answers every
// request with the words "alpha beta gamma", streamed as SSE chunks with a
// usage chunk when asked, or as one chat.completion object. The first
// `fail429` requests get a 429 with Retry-After.
type upstream struct {
	*httptest.Server
	calls   atomic.Int64
	fail429 atomic.Int64
	stall   chan struct{} // when non-nil, streams stall after the first chunk until closed
	gone    chan struct{} // when non-nil, closed when a stalled request's client goes away
	auth    atomic.Value  // the last Authorization header seen
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	u.auth.Store(r.Header.Get("Authorization"))
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	if u.fail429.Add(-1) >= 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	words := []string{"alpha", " beta", " gamma"}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-up","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`,
			req.Model, strings.Join(words, ""))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(delta, finish string) {
		fin := "null"
		if finish != "" {
			fin = `"` + finish + `"`
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-up\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", req.Model, delta, fin)
		fl.Flush()
	}
	for i, wd := range words {
		chunk(wd, "")
		if i == 0 && u.stall != nil {
			select {
			case <-u.stall:
			case <-r.Context().Done():
				if u.gone != nil {
					close(u.gone)
				}
				return
			}
		}
	}
	chunk("", "stop")
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-up\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n", req.Model)
	fl.Flush()
}

// startServe runs the composition root on a free port and returns its base
// URL; the server is shut down (gracefully) at cleanup.
func startServe(t *testing.T, tomlText string) (string, *server, context.CancelFunc) {
	t.Helper()
	cfg, err := config.ParseWith([]byte(tomlText), "test.toml", config.Options{AllowInlineSecrets: true})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err := newServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("newServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop")
		}
	})
	return "http://" + ln.Addr().String(), s, cancel
}

func testConfig(upstreamURL string) string {
	return fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"
api_keys = [{ value = "sk-gateway" }]
shutdown_timeout = "20s"

[[deployment]]
name = "demo"
runtime = "fake"

[[deployment]]
name = "up"
model = "gpt-4o-mini"
runtime = "litellm"
endpoint = "%s/v1"
api_key = { value = "sk-upstream" }
[deployment.retry]
max_retries = 0
[deployment.rate_limits]
requests_per_minute = 6000
tokens_per_minute = 10000000
[deployment.budget]
max_spend_per_hour = 5.0
[deployment.pricing]
input = 0.15
output = 0.60
`, upstreamURL)
}

func sdk(base string) openai.Client {
	return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("sk-gateway"), option.WithMaxRetries(0))
}

func TestServeEndToEndWithSDK(t *testing.T) {
	up := newUpstream(t)
	base, _, _ := startServe(t, testConfig(up.URL))
	c := sdk(base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("unary through the litellm runner", func(t *testing.T) {
		var resp *http.Response
		got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "up",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Message.Content != "alpha beta gamma" || got.Usage.TotalTokens != 8 {
			t.Fatalf("completion = %q usage %+v", got.Choices[0].Message.Content, got.Usage)
		}
		if d := resp.Header.Get("x-actorinfer-deployment"); d != "up" {
			t.Fatalf("x-actorinfer-deployment = %q, want up", d)
		}
		if a, _ := up.auth.Load().(string); a != "Bearer sk-upstream" {
			t.Fatalf("upstream saw Authorization %q", a)
		}
	})

	t.Run("streaming with usage", func(t *testing.T) {
		st := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "up",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var text strings.Builder
		var usage int64
		var finish string
		for st.Next() {
			ch := st.Current()
			for _, ch := range ch.Choices {
				text.WriteString(ch.Delta.Content)
				if ch.FinishReason != "" {
					finish = ch.FinishReason
				}
			}
			if ch.Usage.TotalTokens > 0 {
				usage = ch.Usage.TotalTokens
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != "alpha beta gamma" || usage != 8 || finish != "stop" {
			t.Fatalf("stream = %q usage %d finish %q", text.String(), usage, finish)
		}
	})

	t.Run("fake demo deployment", func(t *testing.T) {
		got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "demo",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("once upon a time")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Choices[0].Message.Content == "" {
			t.Fatal("empty answer from demo")
		}
	})

	t.Run("upstream 429 maps to 429 with Retry-After", func(t *testing.T) {
		up.fail429.Store(1)
		var resp *http.Response
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "up",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		}, option.WithResponseInto(&resp))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("err = %v, want 429", err)
		}
		if ra := apiErr.Response.Header.Get("Retry-After"); ra != "7" {
			t.Fatalf("Retry-After = %q, want 7", ra)
		}
	})

	t.Run("unknown model is 404 model_not_found", func(t *testing.T) {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "nope",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
			t.Fatalf("err = %v, want 404 model_not_found", err)
		}
	})

	t.Run("wrong key is 401", func(t *testing.T) {
		bad := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
		_, err := bad.Models.List(ctx)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})

	t.Run("models lists both deployments", func(t *testing.T) {
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if strings.Join(ids, ",") != "demo,up" {
			t.Fatalf("models = %v", ids)
		}
	})

	t.Run("admin state shows limiter and budget", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/admin/deployments/up", nil)
		req.Header.Set("Authorization", "Bearer sk-gateway")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		if st["limiter"] == nil || st["budget"] == nil {
			t.Fatalf("admin state = %v, want limiter and budget", st)
		}
	})
}

// TestServeDrainsOnShutdown starts a streaming request, cancels the serve
// context while the upstream stalls, then releases the upstream: the
// in-flight request completes and serve returns.
func TestServeDrainsOnShutdown(t *testing.T) {
	up := newUpstream(t)
	up.stall = make(chan struct{})
	base, _, stop := startServe(t, testConfig(up.URL))
	c := sdk(base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "up",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if !st.Next() {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	stop() // begin graceful shutdown with the request in flight
	// New connections are refused once the listener closes.
	deadline := time.After(20 * time.Second)
	for {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			break
		}
		conn.Close()
		select {
		case <-deadline:
			t.Fatal("listener still accepting after shutdown began")
		default:
		}
	}
	close(up.stall)
	var text strings.Builder
	for _, ch := range st.Current().Choices {
		text.WriteString(ch.Delta.Content)
	}
	for st.Next() {
		for _, ch := range st.Current().Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("in-flight stream failed during drain: %v", err)
	}
	if text.String() != "alpha beta gamma" {
		t.Fatalf("drained stream = %q", text.String())
	}
}

// TestClientDisconnectCancelsUpstream: a streaming client that goes away
// mid-stream cancels the request through the actor tree, down to the
// upstream HTTP request.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	up := newUpstream(t)
	up.stall = make(chan struct{})
	up.gone = make(chan struct{})
	defer close(up.stall)
	base, s, _ := startServe(t, testConfig(up.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cctx, disconnect := context.WithCancel(ctx)
	c := sdk(base)
	st := c.Chat.Completions.NewStreaming(cctx, openai.ChatCompletionNewParams{
		Model:    "up",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if !st.Next() {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	disconnect()
	select {
	case <-up.gone:
	case <-ctx.Done():
		t.Fatal("upstream request was not cancelled after the client disconnected")
	}
	// The deployment forgets the request: nothing stays in flight.
	for {
		st, err := s.host.State(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		if st.GetInFlight() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment still has %d in flight", st.GetInFlight())
		default:
		}
	}
}
