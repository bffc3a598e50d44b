package anthropic

import (
	"net/http"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// TestErrorTable checks the Anthropic classification of error responses:
// the documented error types, prompt-too-long, 529 and non-JSON pages.
func TestErrorTable(t *testing.T) {
	now := time.Date(2025, 8, 21, 12, 40, 0, 0, time.UTC)
	body := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"}}`
	}
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		retryAfter string
		code       runners.Code
		wantRetry  int64
		retryable  bool
		session    bool
	}{
		{"invalid", 400, body("invalid_request_error", "messages: roles must alternate"), "", runners.CodeBadRequest, 0, false, false},
		{"prompt too long", 400, body("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"), "", runners.CodeContextLengthExceeded, 0, false, false},
		{"context limit", 400, body("invalid_request_error", "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000"), "", runners.CodeContextLengthExceeded, 0, false, false},
		{"auth", 401, body("authentication_error", "invalid x-api-key"), "", runners.CodeUnauthorized, 0, true, true},
		{"billing", 400, body("billing_error", "credit balance is too low"), "", runners.CodeForbidden, 0, false, false},
		{"permission", 403, body("permission_error", "no access"), "", runners.CodeForbidden, 0, false, false},
		{"not found", 404, body("not_found_error", "model: claude-9"), "", runners.CodeNotFound, 0, false, false},
		{"too large", 413, body("request_too_large", "Request exceeds the maximum allowed number of bytes."), "", runners.CodeBadRequest, 0, false, false},
		{"rate limit", 429, body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), "17", runners.CodeRateLimited, 17000, true, false},
		{"api error", 500, body("api_error", "Internal server error"), "", runners.CodeServerError, 0, true, false},
		{"overloaded", 529, body("overloaded_error", "Overloaded"), "", runners.CodeServerError, 0, true, false},
		{"timeout", 504, body("timeout_error", "Request timed out"), "", runners.CodeTimeout, 0, true, false},
		{"html 502", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "", runners.CodeServerError, 0, true, false},
		{"html 429", 429, "<html>slow down</html>", "3", runners.CodeRateLimited, 3000, true, false},
		{"529 empty", 529, "", "", runners.CodeServerError, 0, true, false},
		{"truncated json 500", 500, `{"type":"error","error":{"type":"api_`, "", runners.CodeServerError, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			e := errorTable.FromResponse(tc.status, h, []byte(tc.body), false, now)
			if e.GetCode() != tc.code || e.GetRetryAfterMs() != tc.wantRetry || e.GetHttpStatus() != int32(tc.status) {
				t.Errorf("FromResponse(%d) = %s (status %d, retry %d ms), want %s (retry %d ms)",
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

func TestStreamErrorTypes(t *testing.T) {
	for typ, want := range map[string]runners.Code{
		"overloaded_error": runners.CodeServerError, "api_error": runners.CodeServerError,
		"rate_limit_error": runners.CodeRateLimited, "authentication_error": runners.CodeUnauthorized,
		"something_new": runners.CodeServerError,
	} {
		e := errorTable.FromBody(0, httpapi.ErrorBody{Type: typ, Message: "m"})
		if e.GetCode() != want {
			t.Errorf("in-stream %s = %s, want %s", typ, e.GetCode().Slug(), want.Slug())
		}
	}
}
