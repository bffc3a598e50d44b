package gateway

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// End-to-end tests with the official OpenAI Go SDK as the client: whatever
// it accepts, OpenAI's own clients accept.

func sdkClient(s *testServer, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(key),
		option.WithMaxRetries(0), option.WithHTTPClient(s.Client()))
}

func sdkServer(t *testing.T) *testServer {
	be := newTestBackend().
		on("demo", reply("demo-a", "Hello", ", ", "world")).
		on("limited", fail(runners.RateLimitedError("rpm", 2500*time.Millisecond, "too many requests"))).
		on("broken", cut("demo-a", &messages.Error{Code: runners.CodeNetwork, Message: "connection reset"}, "Hel"))
	return newTestServer(t, be, func(o *Options) { o.APIKeys = []string{"sk-test"} })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSDKUnary(t *testing.T) {
	s := sdkServer(t)
	c := sdkClient(s, "sk-test")
	var resp *http.Response
	got, err := c.Chat.Completions.New(ctxT(t), openai.ChatCompletionNewParams{
		Model:       "demo",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be nice"), openai.UserMessage("hi")},
		Temperature: openai.Float(0.2),
		MaxTokens:   openai.Int(16),
		Seed:        openai.Int(3),
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "Hello, world" || got.Choices[0].FinishReason != "stop" ||
		got.Model != "demo" || got.Object != "chat.completion" {
		t.Errorf("completion = %+v", got)
	}
	if got.Usage.PromptTokens != 12 || got.Usage.CompletionTokens != 3 || got.Usage.TotalTokens != 15 ||
		got.Usage.PromptTokensDetails.CachedTokens != 4 || got.Usage.CompletionTokensDetails.ReasoningTokens != 1 {
		t.Errorf("usage = %+v", got.Usage)
	}
	if resp.Header.Get("X-Actorinfer-Deployment") != "demo-a" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("headers = %v", resp.Header)
	}
	b := s.be.lastBatch()
	if b.GetSampling().GetTemperature() != 0.2 || b.GetSampling().GetMaxTokens() != 16 || b.GetSampling().GetSeed() != 3 ||
		len(b.GetMessages()) != 2 || b.Messages[0].GetRole() != messages.Role_ROLE_SYSTEM {
		t.Errorf("batch = %v", b)
	}
}

func TestSDKStreamWithUsage(t *testing.T) {
	s := sdkServer(t)
	c := sdkClient(s, "sk-test")
	stream := c.Chat.Completions.NewStreaming(ctxT(t), openai.ChatCompletionNewParams{
		Model:         "demo",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		chunks++
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if chunks != 6 {
		t.Errorf("chunks = %d, want role + 3 content + finish + usage", chunks)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "Hello, world" || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("accumulated = %+v", acc.ChatCompletion)
	}
	if acc.Usage.TotalTokens != 15 || acc.Usage.PromptTokensDetails.CachedTokens != 4 {
		t.Errorf("usage = %+v", acc.Usage)
	}
	if !s.be.lastBatch().GetStream() {
		t.Errorf("batch not marked stream")
	}
}

func TestSDKErrors(t *testing.T) {
	s := sdkServer(t)
	tests := []struct {
		name, key, model string
		params           func(*openai.ChatCompletionNewParams)
		status           int
		code, param      string
		retryAfter       string
	}{
		{"unknown model", "sk-test", "nope", nil, 404, "model_not_found", "model", ""},
		{"rate limited", "sk-test", "limited", nil, 429, "rate_limit_exceeded", "", "3"},
		{"n", "sk-test", "demo", func(p *openai.ChatCompletionNewParams) { p.N = openai.Int(2) }, 400, "unsupported_value", "n", ""},
		{"temperature", "sk-test", "demo", func(p *openai.ChatCompletionNewParams) { p.Temperature = openai.Float(9) }, 400, "invalid_value", "temperature", ""},
		{"auth", "sk-wrong", "demo", nil, 401, "invalid_api_key", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := openai.ChatCompletionNewParams{Model: tt.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
			if tt.params != nil {
				tt.params(&p)
			}
			c := sdkClient(s, tt.key)
			_, err := c.Chat.Completions.New(ctxT(t), p)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("New = %v, want an *openai.Error", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code != tt.code || apiErr.Param != tt.param || apiErr.Message == "" {
				t.Errorf("error = %d code %q param %q (%s); want %d code %q param %q",
					apiErr.StatusCode, apiErr.Code, apiErr.Param, apiErr.RawJSON(), tt.status, tt.code, tt.param)
			}
			if got := apiErr.Response.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestSDKStreamInBandError(t *testing.T) {
	s := sdkServer(t)
	c := sdkClient(s, "sk-test")
	stream := c.Chat.Completions.NewStreaming(ctxT(t), openai.ChatCompletionNewParams{
		Model: "broken", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var text string
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			text += ch.Delta.Content
			if ch.FinishReason != "" {
				t.Errorf("a failed stream carried finish_reason %q", ch.FinishReason)
			}
		}
	}
	var se *ssestream.StreamError
	if !errors.As(stream.Err(), &se) {
		t.Fatalf("stream.Err() = %v, want an in-band *ssestream.StreamError", stream.Err())
	}
	if text != "Hel" {
		t.Errorf("text before the failure = %q", text)
	}
}

func TestSDKModels(t *testing.T) {
	s := sdkServer(t)
	c := sdkClient(s, "sk-test")
	page, err := c.Models.List(ctxT(t))
	if err != nil {
		t.Fatalf("Models.List: %v", err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if len(ids) != 3 || ids[0] != "demo" {
		t.Errorf("models = %v", ids)
	}
	m, err := c.Models.Get(ctxT(t), "demo")
	if err != nil || m.ID != "demo" || m.OwnedBy != "actorinfer" {
		t.Errorf("Models.Get(demo) = %+v, %v", m, err)
	}
	_, err = c.Models.Get(ctxT(t), "nope")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("Models.Get(nope) = %v, want a 404", err)
	}
}
