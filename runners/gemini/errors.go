package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// errorTable classifies Google API error bodies
// ({"error":{"code":…,"message":…,"status":…,"details":[…]}}) by status:
// RESOURCE_EXHAUSTED → rate_limited, UNAUTHENTICATED → unauthorized,
// PERMISSION_DENIED → forbidden, NOT_FOUND → not_found, UNAVAILABLE and
// INTERNAL → server_error, DEADLINE_EXCEEDED → timeout, FAILED_PRECONDITION
// → bad_request. INVALID_ARGUMENT is left to the HTTP status (400
// bad_request) so that the message rules apply: "API key not valid" →
// unauthorized (AI Studio answers a bad key with 400), "The input token
// count (…) exceeds the maximum number of tokens allowed (…)" →
// context_length_exceeded.
var errorTable = func() *httpapi.ErrorTable {
	t := httpapi.NewErrorTable(string(runners.ProviderGemini), nil,
		map[string]runners.Code{
			"resource_exhausted":  runners.CodeRateLimited,
			"unauthenticated":     runners.CodeUnauthorized,
			"permission_denied":   runners.CodeForbidden,
			"not_found":           runners.CodeNotFound,
			"unavailable":         runners.CodeServerError,
			"internal":            runners.CodeServerError,
			"deadline_exceeded":   runners.CodeTimeout,
			"failed_precondition": runners.CodeBadRequest,
		},
		httpapi.MessageRule{Contains: "api key not valid", Code: runners.CodeUnauthorized},
		httpapi.MessageRule{Contains: "api key expired", Code: runners.CodeUnauthorized},
		httpapi.MessageRule{Contains: "exceeds the maximum number of tokens", Code: runners.CodeContextLengthExceeded},
	)
	delete(t.Codes, "invalid_argument")
	return t
}()

// streamError classifies an error object that arrived inside a stream (the
// whole data of the event), with the RetryInfo delay of its details.
func streamError(data []byte, secrets ...string) *messages.Error {
	eb, err := httpapi.ParseErrorBody(data)
	if err != nil {
		return malformed("unreadable error object in stream")
	}
	e := errorTable.FromBody(0, eb, secrets...)
	if d, ok := retryInfoDelay(eb.Details); ok {
		e.RetryAfterMs = max(e.RetryAfterMs, ceilMs(d))
	}
	return e
}

// retryInfoDelay returns the retryDelay of a google.rpc.RetryInfo in an
// error's details ("17s", "0.5s": a protobuf Duration in JSON).
func retryInfoDelay(details json.RawMessage) (time.Duration, bool) {
	if len(details) == 0 {
		return 0, false
	}
	var ds []struct {
		Type       string `json:"@type"`
		RetryDelay string `json:"retryDelay"`
	}
	if json.Unmarshal(details, &ds) != nil {
		return 0, false
	}
	for _, d := range ds {
		if !strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			continue
		}
		s, ok := strings.CutSuffix(strings.TrimSpace(d.RetryDelay), "s")
		if !ok {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f != f || f > 86400 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	return 0, false
}

func ceilMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// retryInfoTransport copies the RetryInfo delay of an error response's body
// into a retry-after-ms header (unless the response has a retry header), so
// that the session's retry loop and classifier honour it like Retry-After.
// It reads at most httpapi.MaxErrorBody bytes of error bodies and hands the
// same bytes on.
type retryInfoTransport struct{ base http.RoundTripper }

func (t retryInfoTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if resp.Header.Get("Retry-After") != "" || resp.Header.Get("Retry-After-Ms") != "" {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, httpapi.MaxErrorBody+1))
	rest := resp.Body
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
	if eb, perr := httpapi.ParseErrorBody(body); perr == nil {
		if d, ok := retryInfoDelay(eb.Details); ok {
			resp.Header.Set("Retry-After-Ms", strconv.FormatInt(ceilMs(d), 10))
		}
	}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
