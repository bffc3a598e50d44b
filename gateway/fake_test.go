package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// viaRunner serves a model with a real runner, as the actor system does: it
// stamps the deployment on the first chunk and on the last (the one with a
// finish reason).
func viaRunner(deployment string, r runners.ModelRunner) script {
	return func(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
		h, err := r.Execute(ctx, b)
		if err != nil {
			return nil, err
		}
		return &stampHandle{RunHandle: h, deployment: deployment}, nil
	}
}

type stampHandle struct {
	runners.RunHandle
	deployment string
	n          int
}

func (h *stampHandle) Recv() (*messages.TokenChunk, error) {
	c, err := h.RunHandle.Recv()
	if c != nil {
		h.n++
		if h.n == 1 || c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			c.Deployment = h.deployment
		}
	}
	return c, err
}

func fakeServer(t *testing.T, r *fake.Runner) *testServer {
	return newTestServer(t, newTestBackend().on("demo", viaRunner("demo", r)))
}

func TestFakeRunnerStream(t *testing.T) {
	r := fake.New(fake.WithPrice(1, 2))
	s := fakeServer(t, r)
	c := sdkClient(s, "")
	stream := c.Chat.Completions.NewStreaming(ctxT(t), openai.ChatCompletionNewParams{
		Model:         "demo",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("the quick brown fox jumps")},
		MaxTokens:     openai.Int(4),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if got := acc.Choices[0].Message.Content; got != "the quick brown fox" || acc.Choices[0].FinishReason != "length" {
		t.Errorf("answer = %q (%s), want the first four words, length", got, acc.Choices[0].FinishReason)
	}
	if acc.Usage.PromptTokens != 5 || acc.Usage.CompletionTokens != 4 {
		t.Errorf("usage = %+v", acc.Usage)
	}
	if v, _ := metricValue(t, s.reg, "actorinfer_gateway_cost_usd_total", map[string]string{"deployment": "demo"}); v <= 0 {
		t.Errorf("cost metric = %v, want > 0", v)
	}
	if r.Open() != 0 {
		t.Errorf("runner has %d open handles after the stream", r.Open())
	}
}

func TestFakeRunnerFaults(t *testing.T) {
	t.Run("rate limited before the first chunk", func(t *testing.T) {
		r := fake.New(fake.WithFaultStage(fake.AtFirstRecv))
		r.RateLimitNext(1, 2*time.Second)
		s := fakeServer(t, r)
		resp, body := s.chat(t, hiStream)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("429 from the first Recv = %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	})
	t.Run("poisoned", func(t *testing.T) {
		r := fake.New()
		r.PoisonContext()
		s := fakeServer(t, r)
		if resp, body := s.chat(t, hiRequest); resp.StatusCode != 503 {
			t.Errorf("poisoned runner = %d %s, want 503", resp.StatusCode, body)
		}
	})
	t.Run("auth expired", func(t *testing.T) {
		r := fake.New()
		r.ExpireAuth()
		s := fakeServer(t, r)
		if resp, body := s.chat(t, hiRequest); resp.StatusCode != 502 || !strings.Contains(body, "upstream_unauthorized") {
			t.Errorf("expired upstream credentials = %d %s, want 502 upstream_unauthorized", resp.StatusCode, body)
		}
	})
	t.Run("cut mid-stream", func(t *testing.T) {
		r := fake.New()
		r.CutAfter(2)
		s := fakeServer(t, r)
		c := sdkClient(s, "")
		stream := c.Chat.Completions.NewStreaming(ctxT(t), openai.ChatCompletionNewParams{
			Model: "demo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("one two three four")}})
		var text string
		for stream.Next() {
			for _, ch := range stream.Current().Choices {
				text += ch.Delta.Content
			}
		}
		var se *ssestream.StreamError
		if !errors.As(stream.Err(), &se) || text != "one two" {
			t.Errorf("cut stream: text %q, err %v; want \"one two\" and an in-band error", text, stream.Err())
		}
	})
}

func TestFakeRunnerClientDisconnect(t *testing.T) {
	r := fake.New()
	r.StallAfter(1)
	ctxs := make(chan context.Context, 1)
	run := viaRunner("demo", r)
	s := newTestServer(t, newTestBackend().on("demo", func(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
		ctxs <- ctx
		return run(ctx, b)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"demo","stream":true,"messages":[{"role":"user","content":"one two three"}]}`))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 1)
	if _, err := resp.Body.Read(buf); err != nil { // committed: the first token is out
		t.Fatalf("reading the stream: %v", err)
	}
	if r.InFlight() != 1 {
		t.Fatalf("runner in flight = %d, want 1 stalled stream", r.InFlight())
	}
	cancel()
	// Drain returns once the handler has finished, which it does only after
	// closing the handle.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	if err := s.gw.Drain(dctx); err != nil {
		t.Fatalf("the request did not finish after the client left: %v", err)
	}
	if r.Open() != 0 {
		t.Errorf("after the client left: runner has %d open handles, want 0", r.Open())
	}
	// The runner's producer stops on its context, which the client's
	// departure cancelled.
	runCtx := within(t, ctxs, "the runner's context")
	within(t, runCtx.Done(), "the runner's context to be cancelled")
}
