package anthropic

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/messages"
)

// rateLimitFeedback reads the anthropic-ratelimit-* response headers:
// requests-remaining and -reset, tokens-remaining and -reset (falling back to
// input-tokens-* when the combined tokens headers are absent). Resets are
// RFC 3339 instants, turned into durations from now. retryAfter is the
// response's retry hint. It returns nil when the response says nothing.
func rateLimitFeedback(h http.Header, now time.Time, retryAfter time.Duration) *messages.RateLimitFeedback {
	f := &messages.RateLimitFeedback{RemainingRequests: -1, RemainingTokens: -1, RetryAfterMs: durationMs(retryAfter)}
	seen := retryAfter > 0
	if v, ok := headerInt(h, "anthropic-ratelimit-requests-remaining"); ok {
		f.RemainingRequests, seen = v, true
	}
	if d, ok := headerReset(h, "anthropic-ratelimit-requests-reset", now); ok {
		f.RequestsResetMs, seen = d, true
	}
	tokens := "anthropic-ratelimit-tokens-"
	if h.Get(tokens+"remaining") == "" {
		tokens = "anthropic-ratelimit-input-tokens-"
	}
	if v, ok := headerInt(h, tokens+"remaining"); ok {
		f.RemainingTokens, seen = v, true
	}
	if d, ok := headerReset(h, tokens+"reset", now); ok {
		f.TokensResetMs, seen = d, true
	}
	if !seen {
		return nil
	}
	return f
}

func headerInt(h http.Header, key string) (int64, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(h.Get(key)), 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return v, true
}

func headerReset(h http.Header, key string, now time.Time) (int64, bool) {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return durationMs(d), true
}
