package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"google.golang.org/protobuf/proto"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{"none", hdr(), 0, false},
		{"delta seconds", hdr("Retry-After", "7"), 7 * time.Second, true},
		{"decimal seconds", hdr("Retry-After", "1.5"), 1500 * time.Millisecond, true},
		{"http date", hdr("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"http date past", hdr("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0, true},
		{"garbage", hdr("Retry-After", "soon"), 0, false},
		{"negative", hdr("Retry-After", "-3"), 0, false},
		{"huge capped", hdr("Retry-After", "999999999"), 24 * time.Hour, true},
		{"retry-after-ms", hdr("retry-after-ms", "250", "Retry-After", "1"), 250 * time.Millisecond, true},
		{"x-ms-retry-after-ms", hdr("x-ms-retry-after-ms", "1200.5"), 1200*time.Millisecond + 500*time.Microsecond, true},
		{"bad ms falls through", hdr("retry-after-ms", "x", "Retry-After", "2"), 2 * time.Second, true},
		{"openai reset requests", hdr("x-ratelimit-reset-requests", "1s", "x-ratelimit-remaining-requests", "0",
			"x-ratelimit-reset-tokens", "6m0s", "x-ratelimit-remaining-tokens", "5000"), time.Second, true},
		{"openai reset tokens exhausted", hdr("x-ratelimit-reset-requests", "20ms", "x-ratelimit-remaining-requests", "10",
			"x-ratelimit-reset-tokens", "6m0s", "x-ratelimit-remaining-tokens", "0"), 6 * time.Minute, true},
		{"openai reset none exhausted: longest", hdr("x-ratelimit-reset-requests", "20ms", "x-ratelimit-reset-tokens", "1.5s"), 1500 * time.Millisecond, true},
		{"anthropic reset", hdr("anthropic-ratelimit-tokens-reset", now.Add(30*time.Second).Format(time.RFC3339),
			"anthropic-ratelimit-tokens-remaining", "0"), 30 * time.Second, true},
		{"retry-after beats reset", hdr("Retry-After", "3", "x-ratelimit-reset-tokens", "6m0s"), 3 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.h, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("RetryAfter(%v) = %v, %v; want %v, %v", tt.h, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseResetDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1s": time.Second, "6m0s": 6 * time.Minute, "20ms": 20 * time.Millisecond, "1h2m3.5s": time.Hour + 2*time.Minute + 3500*time.Millisecond,
		"0.5": 500 * time.Millisecond, "1d2h": 24 * time.Hour, "2h": 2 * time.Hour,
	} {
		if got, ok := ParseResetDuration(in); !ok || got != want {
			t.Errorf("ParseResetDuration(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "-1s", "5d"} {
		if got, ok := ParseResetDuration(in); ok {
			t.Errorf("ParseResetDuration(%q) = %v, true; want false", in, got)
		}
	}
}

func TestRateLimitFeedback(t *testing.T) {
	tests := []struct {
		name   string
		status int
		h      http.Header
		want   *messages.RateLimitFeedback
	}{
		{"none", 200, hdr(), nil},
		{"openai", 200, hdr("x-ratelimit-limit-requests", "60", "x-ratelimit-remaining-requests", "59",
			"x-ratelimit-remaining-tokens", "149984", "x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "6m0s"),
			&messages.RateLimitFeedback{RemainingRequests: 59, RemainingTokens: 149984, RequestsResetMs: 1000, TokensResetMs: 360000}},
		{"anthropic", 200, hdr("anthropic-ratelimit-requests-remaining", "49", "anthropic-ratelimit-tokens-remaining", "0",
			"anthropic-ratelimit-requests-reset", now.Add(2*time.Second).Format(time.RFC3339),
			"anthropic-ratelimit-tokens-reset", now.Add(10*time.Second).Format(time.RFC3339)),
			&messages.RateLimitFeedback{RemainingRequests: 49, RemainingTokens: 0, RequestsResetMs: 2000, TokensResetMs: 10000}},
		{"429 with retry-after only", 429, hdr("Retry-After", "20"),
			&messages.RateLimitFeedback{RetryAfterMs: 20000, RemainingRequests: -1, RemainingTokens: -1}},
		{"429 bare", 429, hdr(), &messages.RateLimitFeedback{RemainingRequests: -1, RemainingTokens: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RateLimitFeedback(tt.status, tt.h, now)
			if !proto.Equal(got, tt.want) {
				t.Fatalf("RateLimitFeedback = %v, want %v", got, tt.want)
			}
		})
	}
}
