package anthropic

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// statusOverloaded is Anthropic's "overloaded" status, outside the IANA range.
const statusOverloaded = 529

// maxMessage bounds the provider message copied into an error.
const maxMessage = 512

// parseErrorBody reads {"type":"error","error":{"type":t,"message":m}}. ok is
// false when body is not such an object (an HTML page from a proxy, say).
func parseErrorBody(body []byte) (typ, msg string, ok bool) {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil || eb.Error.Type == "" {
		return "", "", false
	}
	return eb.Error.Type, eb.Error.Message, true
}

// errorFromResponse classifies a non-2xx response: by the error type in the
// body when it has one, by status otherwise. retryAfter is the response's
// retry hint (0 when none).
func errorFromResponse(status int, contentType string, body []byte, retryAfter time.Duration) *messages.Error {
	if typ, msg, ok := parseErrorBody(body); ok {
		return errorFromType(typ, msg, status, retryAfter)
	}
	what := "no body"
	if len(body) > 0 {
		ct := contentType
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		what = "unreadable body (" + ct + ")"
	}
	e := statusError(status, fmt.Sprintf("anthropic: HTTP %d with %s", status, what))
	if e.Code == runners.CodeRateLimited {
		e.RetryAfterMs = durationMs(retryAfter)
	}
	return e
}

// errorFromType maps an Anthropic error type (see
// https://docs.anthropic.com/en/api/errors) onto the typed codes. status is
// the HTTP status (0 for an error event inside a stream).
func errorFromType(typ, msg string, status int, retryAfter time.Duration) *messages.Error {
	text := "anthropic: " + typ
	if m := clip(msg); m != "" {
		text += ": " + m
	}
	var code runners.Code
	switch typ {
	case "invalid_request_error":
		code = runners.CodeBadRequest
		if isContextLength(msg) {
			code = runners.CodeContextLengthExceeded
		}
	case "authentication_error":
		code = runners.CodeUnauthorized
	case "permission_error", "billing_error":
		code = runners.CodeForbidden
	case "not_found_error":
		code = runners.CodeNotFound
	case "request_too_large":
		code = runners.CodeBadRequest
	case "rate_limit_error":
		code = runners.CodeRateLimited
	case "api_error":
		code = runners.CodeServerError
	case "overloaded_error":
		code = runners.CodeServerError
		if status == 0 {
			status = statusOverloaded
		}
	case "timeout_error":
		code = runners.CodeTimeout
	default:
		if status == 0 {
			code = runners.CodeServerError
		} else {
			return statusError(status, text)
		}
	}
	e := &messages.Error{Code: code, Message: text, Provider: string(runners.ProviderAnthropic), HttpStatus: int32(status)}
	if code == runners.CodeRateLimited {
		e.RetryAfterMs = durationMs(retryAfter)
	}
	return e
}

// statusError classifies by HTTP status alone.
func statusError(status int, text string) *messages.Error {
	var code runners.Code
	switch {
	case status == http.StatusBadRequest, status == http.StatusRequestEntityTooLarge, status == http.StatusUnprocessableEntity:
		code = runners.CodeBadRequest
	case status == http.StatusUnauthorized:
		code = runners.CodeUnauthorized
	case status == http.StatusForbidden:
		code = runners.CodeForbidden
	case status == http.StatusNotFound:
		code = runners.CodeNotFound
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		code = runners.CodeTimeout
	case status == http.StatusTooManyRequests:
		code = runners.CodeRateLimited
	case status == http.StatusConflict, status >= 500:
		code = runners.CodeServerError
	default:
		code = runners.CodeServerError
	}
	return &messages.Error{Code: code, Message: text, Provider: string(runners.ProviderAnthropic), HttpStatus: int32(status)}
}

// isContextLength recognises the invalid_request_error messages that mean
// the prompt does not fit: "prompt is too long: 208310 tokens > 200000
// maximum", "input length and `max_tokens` exceed context limit: ...".
func isContextLength(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"prompt is too long", "exceed context limit", "context window", "context length"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// clip bounds a provider message for inclusion in an error.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	s = s[:maxMessage]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func durationMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
