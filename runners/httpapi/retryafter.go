package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/messages"
)

// maxHint caps any parsed hint; a provider asking for more than a day is
// treated as asking for a day.
const maxHint = 24 * time.Hour

// RetryAfter returns the retry hint carried by the response headers h, and
// whether there was one. It reads, in order of precision:
//
//   - retry-after-ms (OpenAI, Anthropic SDKs) and x-ms-retry-after-ms (Azure):
//     milliseconds, possibly fractional;
//   - Retry-After: delta-seconds, or an HTTP-date taken relative to now;
//   - the providers' reset headers, as a fallback: OpenAI's
//     x-ratelimit-reset-requests / x-ratelimit-reset-tokens ("1s", "6m0s",
//     "20ms") and Anthropic's anthropic-ratelimit-{requests,tokens,
//     input-tokens,output-tokens}-reset (RFC 3339 times). When several are
//     present, the longest wait among the exhausted axes wins; if none is
//     marked exhausted, the longest overall.
//
// A hint in the past or unparsable is ignored. The result is at most a day.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	for _, k := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := h.Get(k); v != "" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f < float64(maxHint/time.Millisecond) {
				return time.Duration(f * float64(time.Millisecond)), true
			}
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if d, ok := ParseRetryAfterValue(v, now); ok {
			return d, true
		}
	}
	return resetHint(h, now)
}

// ParseRetryAfterValue parses a Retry-After header value: delta-seconds
// (integer or, leniently, decimal) or an HTTP-date, relative to now.
func ParseRetryAfterValue(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f != f {
			return 0, false
		}
		if f > maxHint.Seconds() {
			return maxHint, true
		}
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true // the date has passed: retry now
	}
	return min(d, maxHint), true
}

// ParseResetDuration parses OpenAI's x-ratelimit-reset-* values, which are
// Go-like durations such as "1s", "6m0s", "20ms", "1h2m3.5s", and, leniently,
// bare seconds ("0.5").
func ParseResetDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f != f || f > maxHint.Seconds() {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	// OpenAI also writes days ("1d2h"), which time.ParseDuration lacks.
	var days time.Duration
	if i := strings.IndexByte(v, 'd'); i > 0 {
		n, err := strconv.Atoi(v[:i])
		if err != nil || n < 0 || n > 1 {
			return 0, false
		}
		days = time.Duration(n) * maxHint
		v = v[i+1:]
		if v == "" {
			return days, true
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, false
	}
	return min(days+d, maxHint), true
}

// resetHint derives a wait from the providers' reset headers.
func resetHint(h http.Header, now time.Time) (time.Duration, bool) {
	type axis struct{ reset, remaining string }
	var best, bestExhausted time.Duration
	var found, foundExhausted bool
	consider := func(d time.Duration, remaining string) {
		found = true
		best = max(best, d)
		if r := strings.TrimSpace(remaining); r == "0" {
			foundExhausted = true
			bestExhausted = max(bestExhausted, d)
		}
	}
	for _, a := range []axis{
		{"x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"},
		{"x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"},
	} {
		if v := h.Get(a.reset); v != "" {
			if d, ok := ParseResetDuration(v); ok {
				consider(d, h.Get(a.remaining))
			}
		}
	}
	for _, a := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		if v := h.Get("anthropic-ratelimit-" + a + "-reset"); v != "" {
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(v)); err == nil {
				consider(min(max(t.Sub(now), 0), maxHint), h.Get("anthropic-ratelimit-"+a+"-remaining"))
			}
		}
	}
	if foundExhausted {
		return bestExhausted, true
	}
	return best, found
}

// RateLimitFeedback reads the provider's rate-limit headers into the report
// the RateLimiterActor takes, or returns nil when h carries none. It knows
// OpenAI's and Azure's x-ratelimit-{remaining,reset}-{requests,tokens} and
// Anthropic's anthropic-ratelimit-{requests,tokens}-{remaining,reset}. For
// a 429 (status == http.StatusTooManyRequests) it also sets RetryAfterMs.
// Unknown values are -1 for remaining counts and 0 for resets.
func RateLimitFeedback(status int, h http.Header, now time.Time) *messages.RateLimitFeedback {
	fb := &messages.RateLimitFeedback{RemainingRequests: -1, RemainingTokens: -1}
	seen := false
	if n, ok := headerInt(h, "x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining"); ok {
		fb.RemainingRequests, seen = n, true
	}
	if n, ok := headerInt(h, "x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining"); ok {
		fb.RemainingTokens, seen = n, true
	}
	if v := h.Get("x-ratelimit-reset-requests"); v != "" {
		if d, ok := ParseResetDuration(v); ok {
			fb.RequestsResetMs, seen = ceilMs(d), true
		}
	} else if d, ok := rfc3339Until(h.Get("anthropic-ratelimit-requests-reset"), now); ok {
		fb.RequestsResetMs, seen = ceilMs(d), true
	}
	if v := h.Get("x-ratelimit-reset-tokens"); v != "" {
		if d, ok := ParseResetDuration(v); ok {
			fb.TokensResetMs, seen = ceilMs(d), true
		}
	} else if d, ok := rfc3339Until(h.Get("anthropic-ratelimit-tokens-reset"), now); ok {
		fb.TokensResetMs, seen = ceilMs(d), true
	}
	if status == http.StatusTooManyRequests {
		if d, ok := RetryAfter(h, now); ok {
			fb.RetryAfterMs = ceilMs(d)
		}
		seen = true
	}
	if !seen {
		return nil
	}
	return fb
}

func headerInt(h http.Header, keys ...string) (int64, bool) {
	for _, k := range keys {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func rfc3339Until(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxHint), true
}

// ceilMs converts d to milliseconds, rounding up so that nobody is told to
// come back early.
func ceilMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := d.Milliseconds()
	if time.Duration(ms)*time.Millisecond < d {
		ms++
	}
	return ms
}
