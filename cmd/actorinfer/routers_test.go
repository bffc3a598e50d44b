package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestRoutersEndToEnd drives a fallback router and a tiered router through
// the gateway, with real HTTP upstreams in OpenAI's wire format: the first
// upstream rate-limits, so the fallback router serves from the second.
func TestRoutersEndToEnd(t *testing.T) {
	primary, backup := newUpstream(t), newUpstream(t)
	cfg := fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"

[[deployment]]
name = "primary"
model = "gpt-4o"
runtime = "litellm"
endpoint = "%s/v1"
[deployment.retry]
max_retries = 0

[[deployment]]
name = "backup"
model = "gpt-4o-mini"
runtime = "litellm"
endpoint = "%s/v1"
[deployment.pricing]
input = 0.15
output = 0.60

[[deployment]]
name = "local"
runtime = "fake"

[[router]]
name = "chain"
kind = "fallback"
members = ["primary", "backup"]

[[router]]
name = "auto"
kind = "tiered"
[[router.tier]]
name = "premium"
deployment = "backup"
[[router.tier]]
name = "cheap"
deployment = "local"
`, primary.URL, backup.URL)
	base, _, _ := startServe(t, cfg)
	c := openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	primary.fail429.Store(1)
	var resp *http.Response
	got, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "chain",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("fallback router: %v", err)
	}
	if got.Choices[0].Message.Content != "alpha beta gamma" {
		t.Fatalf("answer = %q", got.Choices[0].Message.Content)
	}
	if d := resp.Header.Get("x-actorinfer-deployment"); d != "backup" {
		t.Fatalf("served by %q, want backup after primary's 429", d)
	}
	if primary.calls.Load() != 1 || backup.calls.Load() != 1 {
		t.Fatalf("upstream calls primary=%d backup=%d, want 1 and 1", primary.calls.Load(), backup.calls.Load())
	}

	// A tiered request over its budget downgrades from premium to cheap.
	got, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:     "auto/premium",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tiny budget")},
		MaxTokens: openai.Int(1000),
	}, option.WithResponseInto(&resp), option.WithHeader("x-actorinfer-max-cost-usd", "0.0000001"))
	if err != nil {
		t.Fatalf("tiered router: %v", err)
	}
	if d := resp.Header.Get("x-actorinfer-deployment"); d != "local" {
		t.Fatalf("tiered over budget served by %q, want local (downgraded)", d)
	}
	if r, want := resp.Header.Get("x-actorinfer-route"),
		"auto; kind=tiered; member=local; tier=cheap; requested=premium; reason=over_request_budget"; r != want {
		t.Fatalf("x-actorinfer-route = %q, want %q", r, want)
	}

	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range page.Data {
		ids[m.ID] = true
	}
	for _, want := range []string{"primary", "backup", "local", "chain", "auto", "auto/premium", "auto/cheap"} {
		if !ids[want] {
			t.Errorf("/v1/models lacks %q (has %v)", want, ids)
		}
	}
}
