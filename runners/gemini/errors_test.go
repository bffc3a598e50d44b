package gemini

import (
	"net/http"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

func TestErrorTable(t *testing.T) {
	now := time.Unix(0, 0)
	g := func(code int, status, msg string) string {
		return `{"error":{"code":` + itoa(int64(code)) + `,"message":"` + msg + `","status":"` + status + `"}}`
	}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		code    runners.Code
		session bool
	}{
		{"api key invalid", 400, string(readTestdata(t, "error_api_key_invalid.json")), runners.CodeUnauthorized, true},
		{"unauthenticated", 401, g(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), runners.CodeUnauthorized, true},
		{"invalid argument", 400, g(400, "INVALID_ARGUMENT", "Invalid value at 'generation_config.temperature'"), runners.CodeBadRequest, false},
		{"too many tokens", 400, g(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."), runners.CodeContextLengthExceeded, false},
		{"precondition", 400, g(400, "FAILED_PRECONDITION", "User location is not supported for the API use."), runners.CodeBadRequest, false},
		{"permission", 403, g(403, "PERMISSION_DENIED", "denied"), runners.CodeForbidden, false},
		{"not found", 404, g(404, "NOT_FOUND", "not found"), runners.CodeNotFound, false},
		{"exhausted", 429, g(429, "RESOURCE_EXHAUSTED", "quota"), runners.CodeRateLimited, false},
		{"internal", 500, g(500, "INTERNAL", "oops"), runners.CodeServerError, false},
		{"unavailable", 503, g(503, "UNAVAILABLE", "overloaded"), runners.CodeServerError, false},
		{"deadline", 504, g(504, "DEADLINE_EXCEEDED", "slow"), runners.CodeTimeout, false},
		{"html", 502, "<!DOCTYPE html><html><title>Error 502</title></html>", runners.CodeServerError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := errorTable.FromResponse(tc.status, http.Header{}, []byte(tc.body), false, now)
			if e.GetCode() != tc.code || e.GetProvider() != "gemini" {
				t.Errorf("FromResponse(%d) = %v, want %s from gemini", tc.status, e, tc.code.Slug())
			}
			if c := runners.Classify(e); c.SessionFault != tc.session {
				t.Errorf("Classify = %+v, want session fault %v", c, tc.session)
			}
		})
	}
}

func TestRetryInfoDelay(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]`:                   17 * time.Second,
		`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.25s"}]`:                 250 * time.Millisecond,
		`[{"@type":"x.Help"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]`: 2 * time.Second,
	} {
		if got, ok := retryInfoDelay([]byte(in)); !ok || got != want {
			t.Errorf("retryInfoDelay(%s) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{``, `{}`, `[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"soon"}]`,
		`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-1s"}]`, `[{"@type":"x.Help"}]`} {
		if got, ok := retryInfoDelay([]byte(in)); ok {
			t.Errorf("retryInfoDelay(%s) = %v, want none", in, got)
		}
	}
}

func TestStreamErrorRetryInfo(t *testing.T) {
	e := streamError(readTestdata(t, "error_429.json"))
	if e.GetCode() != runners.CodeRateLimited || e.GetRetryAfterMs() != 17000 {
		t.Errorf("streamError(429 body) = %v, want rate_limited with 17000 ms", e)
	}
	if e := streamError([]byte(`<html>`)); e.GetCode() != runners.CodeServerError {
		t.Errorf("streamError(html) = %v, want server_error", e)
	}
}
