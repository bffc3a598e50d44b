package httpapi

import (
	"fmt"
	"math"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
)

func TestLookupPrice(t *testing.T) {
	tests := []struct {
		model string
		want  string // table key, "" for unknown
	}{
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"GPT-4o", "gpt-4o"},
		{"openai/gpt-4o", "gpt-4o"},
		{"gpt-4-0613", "gpt-4"},
		{"gpt-3.5-turbo-0125", "gpt-3.5-turbo"},
		{"gpt-4-turbo-2024-04-09", "gpt-4-turbo"},
		{"o1-2024-12-17", "o1"},
		{"o3-mini-2025-01-31", "o3-mini"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"claude-3-5-sonnet-latest", "claude-3-5-sonnet"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"models/gemini-2.5-flash", "gemini-2.5-flash"},
		{"gemini-2.5-flash-preview-05-20", "gemini-2.5-flash"},
		{"gemini-1.5-pro-002", "gemini-1.5-pro"},
		{"gpt-4o-audio-preview", ""},
		{"claude-opus-4-9", ""},
		{"llama-3-70b", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := LookupPrice(tt.model, nil)
		want, wantOK := prices[tt.want]
		if tt.want == "" {
			want, wantOK = Price{}, false
		}
		if ok != wantOK || got != want {
			t.Errorf("LookupPrice(%q) = %+v, %v; want %+v (%q)", tt.model, got, ok, want, tt.want)
		}
	}
	over := &Price{Input: 1, Output: 2}
	if got, ok := LookupPrice("anything", over); !ok || got != *over {
		t.Errorf("override: LookupPrice = %+v, %v", got, ok)
	}
}

func TestCostAndEstimate(t *testing.T) {
	p := Price{Input: 2.5, CachedInput: 1.25, Output: 10, CacheWrite: 3}
	u := &messages.Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 100, CacheWriteTokens: 200}
	want := (600*2.5 + 400*1.25 + 200*3 + 100*10) / 1e6
	if got := p.Cost(u); math.Abs(got-want) > 1e-12 {
		t.Errorf("Cost = %v, want %v", got, want)
	}
	batch := &messages.ExecuteBatch{Messages: []*messages.ChatMessage{
		{Role: messages.Role_ROLE_SYSTEM, Content: "You are terse."}, // 14 bytes -> 4
		{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
			{Part: &messages.ContentPart_Text{Text: "What is this?"}},                           // 13 bytes -> 4
			{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://x/y.png"}}}, // 765
		}},
	}, Sampling: &messages.Sampling{MaxTokens: 50}}
	if got, want := EstimateInputTokens(batch), int64(3+4+4+4+4+765); got != want {
		t.Errorf("EstimateInputTokens = %d, want %d", got, want)
	}
	if got, want := EstimateCostUSD(batch, p, true, 4096), (784*2.5+50*10)/1e6; math.Abs(got-want) > 1e-12 {
		t.Errorf("EstimateCostUSD = %v, want %v", got, want)
	}
	batch.Sampling = nil
	if got, want := EstimateCostUSD(batch, p, true, 1000), (784*2.5+1000*10)/1e6; math.Abs(got-want) > 1e-12 {
		t.Errorf("EstimateCostUSD default max = %v, want %v", got, want)
	}
	if got := EstimateCostUSD(batch, Price{}, false, 1000); got >= 0 {
		t.Errorf("unknown price: EstimateCostUSD = %v, want negative", got)
	}
}

func ExampleLookupPrice() {
	p, ok := LookupPrice("gpt-4o-2024-08-06", nil)
	fmt.Println(p.Input, p.Output, ok)
	_, ok = LookupPrice("my-private-model", nil)
	fmt.Println(ok)
	// Output:
	// 2.5 10 true
	// false
}

func TestConfigPrice(t *testing.T) {
	over, fb := &Price{Input: 9, Output: 9}, &Price{Input: 1, Output: 1}
	for _, tt := range []struct {
		c    Config
		want Price
		ok   bool
	}{
		{Config{Model: "gpt-4o"}, prices["gpt-4o"], true},
		{Config{Model: "gpt-4o", Pricing: over}, *over, true},
		{Config{Model: "gpt-4o", FallbackPricing: fb}, prices["gpt-4o"], true},
		{Config{Model: "mystery", FallbackPricing: fb}, *fb, true},
		{Config{Model: "mystery"}, Price{}, false},
	} {
		if got, ok := tt.c.Price(); got != tt.want || ok != tt.ok {
			t.Errorf("Config{Model: %q}.Price() = %+v, %v; want %+v, %v", tt.c.Model, got, ok, tt.want, tt.ok)
		}
	}
}
