package anthropic

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func TestErrorFromResponse(t *testing.T) {
	body := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"}}`
	}
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		retryAfter time.Duration
		code       runners.Code
		wantRetry  int64
		retryable  bool
		session    bool
	}{
		{"invalid", 400, body("invalid_request_error", "messages: roles must alternate"), 0, runners.CodeBadRequest, 0, false, false},
		{"prompt too long", 400, body("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), 0, runners.CodeContextLengthExceeded, 0, false, false},
		{"context limit", 400, body("invalid_request_error", "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000"), 0, runners.CodeContextLengthExceeded, 0, false, false},
		{"auth", 401, body("authentication_error", "invalid x-api-key"), 0, runners.CodeUnauthorized, 0, true, true},
		{"permission", 403, body("permission_error", "no access"), 0, runners.CodeForbidden, 0, false, false},
		{"not found", 404, body("not_found_error", "model: claude-9"), 0, runners.CodeNotFound, 0, false, false},
		{"too large", 413, body("request_too_large", "Request exceeds the maximum allowed number of bytes."), 0, runners.CodeBadRequest, 0, false, false},
		{"rate limit", 429, body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), 17 * time.Second, runners.CodeRateLimited, 17000, true, false},
		{"api error", 500, body("api_error", "Internal server error"), 0, runners.CodeServerError, 0, true, false},
		{"overloaded", 529, body("overloaded_error", "Overloaded"), 0, runners.CodeServerError, 0, true, false},
		{"unknown type 503", 503, body("brand_new_error", "?"), 0, runners.CodeServerError, 0, true, false},
		{"unknown type 400", 400, body("brand_new_error", "?"), 0, runners.CodeBadRequest, 0, false, false},
		{"html 502", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", 0, runners.CodeServerError, 0, true, false},
		{"html 429", 429, "<html>slow down</html>", 3 * time.Second, runners.CodeRateLimited, 3000, true, false},
		{"empty 504", 504, "", 0, runners.CodeTimeout, 0, true, false},
		{"truncated json 500", 500, `{"type":"error","error":{"type":"api_`, 0, runners.CodeServerError, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := errorFromResponse(tc.status, "", []byte(tc.body), tc.retryAfter)
			if e.GetCode() != tc.code || e.GetRetryAfterMs() != tc.wantRetry || e.GetHttpStatus() != int32(tc.status) {
				t.Errorf("errorFromResponse(%d) = %s (status %d, retry %d ms), want %s (retry %d ms)",
					tc.status, e.GetCode().Slug(), e.GetHttpStatus(), e.GetRetryAfterMs(), tc.code.Slug(), tc.wantRetry)
			}
			if e.GetProvider() != "anthropic" {
				t.Errorf("provider = %q, want anthropic", e.GetProvider())
			}
			c := runners.Classify(e)
			if c.Retryable != tc.retryable || c.SessionFault != tc.session {
				t.Errorf("Classify = %+v, want retryable %v session fault %v", c, tc.retryable, tc.session)
			}
			if tc.session && c.Cause != runners.RemoteAuthFailure {
				t.Errorf("cause = %v, want remote_auth_failure", c.Cause)
			}
		})
	}
}

func TestErrorMessageClipped(t *testing.T) {
	long := strings.Repeat("é", 1000)
	e := errorFromResponse(400, "application/json", []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"`+long+`"}}`), 0)
	if len(e.GetMessage()) > maxMessage+64 {
		t.Errorf("message length = %d, want at most %d", len(e.GetMessage()), maxMessage+64)
	}
	if !strings.HasSuffix(e.GetMessage(), "…") {
		t.Errorf("clipped message should end with an ellipsis")
	}
}

func TestRateLimitFeedback(t *testing.T) {
	now := time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-remaining", "999")
	h.Set("anthropic-ratelimit-requests-reset", "2025-08-21T12:40:59Z")
	h.Set("anthropic-ratelimit-input-tokens-remaining", "80000")
	h.Set("anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:30Z")
	f := rateLimitFeedback(h, now, 0)
	want := &messages.RateLimitFeedback{RemainingRequests: 999, RemainingTokens: 80000, RequestsResetMs: 59000, TokensResetMs: 30000}
	if f.String() != want.String() {
		t.Errorf("feedback(input-tokens headers) = %v, want %v", f, want)
	}
	h.Set("anthropic-ratelimit-tokens-remaining", "96000")
	h.Set("anthropic-ratelimit-tokens-reset", "2025-08-21T12:40:01Z")
	f = rateLimitFeedback(h, now, 2*time.Second)
	want = &messages.RateLimitFeedback{RemainingRequests: 999, RemainingTokens: 96000, RequestsResetMs: 59000, TokensResetMs: 1000, RetryAfterMs: 2000}
	if f.String() != want.String() {
		t.Errorf("feedback(tokens headers) = %v, want %v", f, want)
	}
	if f := rateLimitFeedback(http.Header{}, now, 0); f != nil {
		t.Errorf("feedback(no headers) = %v, want nil", f)
	}
}
