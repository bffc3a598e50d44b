package httpapi

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// ErrorTable maps one provider's error responses onto typed errors. Each
// provider builds its own with NewErrorTable, adding what differs from the
// defaults. The zero value classifies by status alone. An ErrorTable must not
// be modified once in use; it is then safe for concurrent use.
type ErrorTable struct {
	// Provider labels the errors ("openai", "azure-openai", "anthropic").
	Provider string
	// Status overrides the default code of an HTTP status.
	Status map[int]runners.Code
	// Codes maps a body's error code, type or status (matched in that
	// order, case-insensitively; keys lower case) to a code. It overrides
	// the status, so that a 400 with code "content_filter" is
	// content_filtered and a 429 with "insufficient_quota" is not retried.
	Codes map[string]runners.Code
	// Messages maps substrings of a 4xx message (lower case) to a code, for
	// providers that say "context length" only in prose.
	Messages []MessageRule
}

// MessageRule is one substring rule of an ErrorTable.
type MessageRule struct {
	Contains string // lower case
	Code     runners.Code
}

// DefaultStatusCode is the code of an HTTP status before a provider's
// overrides: 400, 413, 422 and other 4xx bad_request; 401 unauthorized; 403
// forbidden; 404 not_found; 408 timeout; 409 server_error (a retryable
// conflict); 429 rate_limited; 5xx and 529 server_error.
func DefaultStatusCode(status int) runners.Code {
	switch {
	case status == http.StatusUnauthorized:
		return runners.CodeUnauthorized
	case status == http.StatusForbidden:
		return runners.CodeForbidden
	case status == http.StatusNotFound:
		return runners.CodeNotFound
	case status == http.StatusRequestTimeout:
		return runners.CodeTimeout
	case status == http.StatusConflict:
		return runners.CodeServerError
	case status == http.StatusTooManyRequests:
		return runners.CodeRateLimited
	case status >= 400 && status < 500:
		return runners.CodeBadRequest
	}
	return runners.CodeServerError
}

// DefaultCodes are the body codes every table starts with: the names
// OpenAI, Azure, Anthropic, Gemini and the OpenAI-compatible servers use.
var defaultCodes = map[string]runners.Code{
	"context_length_exceeded":              runners.CodeContextLengthExceeded,
	"string_above_max_length":              runners.CodeContextLengthExceeded,
	"content_filter":                       runners.CodeContentFiltered,
	"content_policy_violation":             runners.CodeContentFiltered,
	"responsibleaipolicyviolation":         runners.CodeContentFiltered,
	"insufficient_quota":                   runners.CodeBudgetExceeded,
	"rate_limit_exceeded":                  runners.CodeRateLimited,
	"rate_limit_error":                     runners.CodeRateLimited,
	"resource_exhausted":                   runners.CodeRateLimited,
	"overloaded_error":                     runners.CodeServerError,
	"api_error":                            runners.CodeServerError,
	"server_error":                         runners.CodeServerError,
	"internal":                             runners.CodeServerError,
	"unavailable":                          runners.CodeServerError,
	"deadline_exceeded":                    runners.CodeTimeout,
	"timeout_error":                        runners.CodeTimeout,
	"authentication_error":                 runners.CodeUnauthorized,
	"invalid_api_key":                      runners.CodeUnauthorized,
	"unauthenticated":                      runners.CodeUnauthorized,
	"permission_error":                     runners.CodeForbidden,
	"permission_denied":                    runners.CodeForbidden,
	"not_found_error":                      runners.CodeNotFound,
	"model_not_found":                      runners.CodeNotFound,
	"deploymentnotfound":                   runners.CodeNotFound,
	"request_too_large":                    runners.CodeBadRequest,
	"invalid_argument":                     runners.CodeBadRequest,
	"failed_precondition":                  runners.CodeBadRequest,
	"context_window_exceeded":              runners.CodeContextLengthExceeded,
	"model_context_window_exceeded":        runners.CodeContextLengthExceeded,
	"invalid_prompt":                       runners.CodeBadRequest,
	"unsupported_country_region_territory": runners.CodeForbidden,
}

var defaultMessages = []MessageRule{
	{"maximum context length", runners.CodeContextLengthExceeded},
	{"context length", runners.CodeContextLengthExceeded},
	{"context window", runners.CodeContextLengthExceeded},
	{"prompt is too long", runners.CodeContextLengthExceeded},
	{"input is too long", runners.CodeContextLengthExceeded},
	{"exceeds the maximum number of tokens", runners.CodeContextLengthExceeded},
	{"too many tokens", runners.CodeContextLengthExceeded},
	{"content management policy", runners.CodeContentFiltered},
	{"content filter", runners.CodeContentFiltered},
}

// NewErrorTable returns a table for provider with the default body codes and
// message rules, plus the given overrides (which win).
func NewErrorTable(provider string, status map[int]runners.Code, codes map[string]runners.Code, msgs ...MessageRule) *ErrorTable {
	t := &ErrorTable{Provider: provider, Status: maps.Clone(status), Codes: maps.Clone(defaultCodes)}
	for k, v := range codes {
		t.Codes[strings.ToLower(k)] = v
	}
	t.Messages = append(append([]MessageRule(nil), msgs...), defaultMessages...)
	return t
}

// StatusCode returns the code of an HTTP status under this table.
func (t *ErrorTable) StatusCode(status int) runners.Code {
	if c, ok := t.Status[status]; ok {
		return c
	}
	return DefaultStatusCode(status)
}

// ReadErrorBody reads at most MaxErrorBody bytes of r and reports whether
// more followed. Read errors end the body where they happen.
func ReadErrorBody(r io.Reader) (body []byte, truncated bool) {
	b, _ := io.ReadAll(io.LimitReader(r, MaxErrorBody+1))
	if len(b) > MaxErrorBody {
		return b[:MaxErrorBody], true
	}
	return b, false
}

// FromResponse classifies a non-2xx response: status, headers (for the
// retry hint) and the body as read by ReadErrorBody. The message names the
// provider and status, quotes the provider's own message sanitized (no
// secrets — pass the session's credentials in secrets — no control
// characters, capped), and says plainly when the body was an HTML page, not
// JSON, truncated or oversize.
func (t *ErrorTable) FromResponse(status int, h http.Header, body []byte, truncated bool, now time.Time, secrets ...string) *messages.Error {
	eb, perr := ParseErrorBody(body)
	var e *messages.Error
	if perr == nil {
		e = t.FromBody(status, eb, secrets...)
	} else {
		code := t.StatusCode(status)
		var what string
		switch {
		case truncated:
			what = fmt.Sprintf("error body over %d KiB, not read in full", MaxErrorBody>>10)
		case errors.Is(perr, ErrEmptyBody):
			what = "empty error body"
		case errors.Is(perr, ErrNotJSON):
			ct := h.Get("Content-Type")
			if i := strings.IndexByte(ct, ';'); i >= 0 {
				ct = ct[:i]
			}
			if ct == "" {
				ct = "no content type"
			}
			what = fmt.Sprintf("non-JSON error body (%s): %s", Sanitize(ct, 60), describeNonJSON(body, secrets))
		case errors.Is(perr, ErrTruncatedJSON):
			what = fmt.Sprintf("truncated JSON error body (%d bytes)", len(body))
		default:
			what = fmt.Sprintf("malformed JSON error body (%d bytes)", len(body))
		}
		e = &messages.Error{Code: code, Provider: t.Provider, Message: t.label() + ": HTTP " + strconv.Itoa(status) + ": " + what}
	}
	e.HttpStatus = int32(status)
	if status == http.StatusTooManyRequests || status >= 500 || e.Code == runners.CodeRateLimited {
		if d, ok := RetryAfter(h, now); ok {
			e.RetryAfterMs = ceilMs(d)
		}
	}
	return e
}

// FromBody classifies a parsed error body; status is the HTTP status, or 0
// for an error that arrived inside a 200 stream (then a numeric body code
// such as Gemini's 429 stands in for it, and the default is server_error).
func (t *ErrorTable) FromBody(status int, eb ErrorBody, secrets ...string) *messages.Error {
	eff := status
	if eff == 0 {
		if n, err := strconv.Atoi(eb.Code); err == nil && n >= 400 && n < 600 {
			eff = n
		}
	}
	code := runners.CodeServerError
	if eff != 0 {
		code = t.StatusCode(eff)
	}
	matched := false
	for _, k := range []string{eb.Code, eb.Type, eb.Status} {
		if k == "" {
			continue
		}
		if c, ok := t.Codes[strings.ToLower(k)]; ok {
			code, matched = c, true
			break
		}
	}
	if !matched && (eff >= 400 && eff < 500 && eff != http.StatusTooManyRequests && eff != http.StatusUnauthorized || eff == 0) {
		msg := strings.ToLower(eb.Message)
		for _, r := range t.Messages {
			if strings.Contains(msg, r.Contains) {
				code = r.Code
				break
			}
		}
	}
	var b strings.Builder
	b.WriteString(t.label())
	if status != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(status))
	} else {
		b.WriteString(": error in stream")
	}
	b.WriteString(": ")
	if eb.Message != "" {
		b.WriteString(Sanitize(eb.Message, maxMessage, secrets...))
	} else {
		b.WriteString("(no message)")
	}
	var tags []string
	if eb.Type != "" {
		tags = append(tags, "type="+Sanitize(eb.Type, 60, secrets...))
	}
	if eb.Code != "" {
		tags = append(tags, "code="+Sanitize(eb.Code, 60, secrets...))
	}
	if eb.Status != "" {
		tags = append(tags, "status="+Sanitize(eb.Status, 60, secrets...))
	}
	if len(tags) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(tags, " "))
		b.WriteString("]")
	}
	e := &messages.Error{Code: code, Message: b.String(), Provider: t.Provider}
	if status != 0 {
		e.HttpStatus = int32(status)
	}
	if code == runners.CodeBudgetExceeded {
		e.Scope = "provider_quota"
	}
	return e
}

func (t *ErrorTable) label() string {
	if t.Provider == "" {
		return "provider"
	}
	return t.Provider
}
