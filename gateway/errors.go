package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/actorinfer/actorinfer/messages"
)

// OpenAI's error types, as its API spells them in error.type.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeNotFound       = "not_found_error"
	typeRateLimit      = "rate_limit_error"
	typeServer         = "server_error"
)

// Header values shared by every response. net/http only reads them; they
// are assigned directly to skip the canonicalisation and the allocation of
// Header.Set.
var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
	hdrNoCache     = []string{"no-cache"}
	hdrNo          = []string{"no"}
)

// statusClientClosed is the status recorded (never written) when the client
// went away before the response was committed, as nginx logs it.
const statusClientClosed = 499

// apiError is one error reply: its status, OpenAI's error fields and the
// Retry-After hint. The zero param and code are written as JSON null.
type apiError struct {
	status     int
	typ        string
	code       string
	param      string
	message    string
	retryAfter time.Duration // > 0: a Retry-After header, in whole seconds rounded up
	// wire is the backend error this reply maps, when there was one; its
	// code labels metrics.
	wire *messages.Error
}

func (e *apiError) Error() string { return e.message }

// invalidParam is a 400 naming the offending request parameter.
func invalidParam(param, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: "invalid_value",
		param: param, message: message}
}

// fromWire maps a backend error onto the HTTP status, OpenAI error type and
// code per DESIGN §7. now resolves absolute reset times into Retry-After.
func fromWire(e *messages.Error, now time.Time) *apiError {
	a := &apiError{wire: e, message: e.GetMessage()}
	upstream := e.GetProvider() != "" || e.GetHttpStatus() != 0
	switch e.GetCode() {
	case messages.ErrorCode_ERROR_CODE_BAD_REQUEST:
		a.status, a.typ, a.code = http.StatusBadRequest, typeInvalidRequest, "bad_request"
	case messages.ErrorCode_ERROR_CODE_CONTEXT_LENGTH_EXCEEDED:
		a.status, a.typ, a.code, a.param = http.StatusBadRequest, typeInvalidRequest, "context_length_exceeded", "messages"
	case messages.ErrorCode_ERROR_CODE_CONTENT_FILTERED:
		a.status, a.typ, a.code = http.StatusBadRequest, typeInvalidRequest, "content_filter"
	case messages.ErrorCode_ERROR_CODE_UNSUPPORTED:
		a.status, a.typ, a.code = http.StatusBadRequest, typeInvalidRequest, "unsupported"
	case messages.ErrorCode_ERROR_CODE_NOT_FOUND:
		if upstream {
			// The provider does not know the model we were configured with:
			// our configuration's fault, not the client's.
			a.status, a.typ, a.code = http.StatusBadGateway, typeServer, "upstream_not_found"
		} else {
			a.status, a.typ, a.code, a.param = http.StatusNotFound, typeInvalidRequest, "model_not_found", "model"
		}
	case messages.ErrorCode_ERROR_CODE_RATE_LIMITED:
		a.status, a.typ, a.code = http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded"
	case messages.ErrorCode_ERROR_CODE_BACKPRESSURE:
		a.status, a.typ, a.code = http.StatusTooManyRequests, typeRateLimit, "backpressure"
	case messages.ErrorCode_ERROR_CODE_BUDGET_EXCEEDED:
		a.status, a.typ, a.code = http.StatusTooManyRequests, typeRateLimit, "budget_exceeded"
	case messages.ErrorCode_ERROR_CODE_UNAUTHORIZED:
		// The provider refused our credentials; the client's are fine.
		a.status, a.typ, a.code = http.StatusBadGateway, typeServer, "upstream_unauthorized"
	case messages.ErrorCode_ERROR_CODE_FORBIDDEN:
		a.status, a.typ, a.code = http.StatusBadGateway, typeServer, "upstream_forbidden"
	case messages.ErrorCode_ERROR_CODE_SERVER_ERROR:
		a.status, a.typ, a.code = http.StatusBadGateway, typeServer, "upstream_error"
	case messages.ErrorCode_ERROR_CODE_NETWORK:
		a.status, a.typ, a.code = http.StatusBadGateway, typeServer, "upstream_network_error"
	case messages.ErrorCode_ERROR_CODE_CIRCUIT_OPEN:
		a.status, a.typ, a.code = http.StatusServiceUnavailable, typeServer, "circuit_open"
	case messages.ErrorCode_ERROR_CODE_CUDA_CONTEXT_POISONED:
		// The replica is being rebuilt; come back shortly.
		a.status, a.typ, a.code = http.StatusServiceUnavailable, typeServer, "replica_unavailable"
	case messages.ErrorCode_ERROR_CODE_TIMEOUT:
		a.status, a.typ, a.code = http.StatusGatewayTimeout, typeServer, "timeout"
	case messages.ErrorCode_ERROR_CODE_CANCELLED:
		// Cancelled by someone other than the client (the server is
		// shutting down, an operator): the client may retry.
		a.status, a.typ, a.code = http.StatusServiceUnavailable, typeServer, "cancelled"
	default:
		a.status, a.typ, a.code = http.StatusInternalServerError, typeServer, "internal_error"
		a.message = "internal error"
	}
	if a.message == "" {
		a.message = e.GetCode().Slug()
	}
	if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
		a.retryAfter = e.RetryAfter()
		if a.retryAfter <= 0 && e.GetResetsAtUnixNano() > 0 {
			a.retryAfter = time.Unix(0, e.GetResetsAtUnixNano()).Sub(now)
		}
		if a.retryAfter <= 0 {
			a.retryAfter = time.Second
		}
	}
	return a
}

// retryAfterSeconds renders d as Retry-After's delay-seconds, rounded up so
// that a client never comes back early.
func retryAfterSeconds(d time.Duration) string {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// appendErrorObject appends {"message":...,"type":...,"param":...,"code":...}.
func appendErrorObject(b []byte, e *apiError) []byte {
	b = append(b, `{"message":`...)
	b = appendString(b, e.message)
	b = append(b, `,"type":`...)
	b = appendString(b, e.typ)
	b = append(b, `,"param":`...)
	if e.param == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, e.param)
	}
	b = append(b, `,"code":`...)
	if e.code == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, e.code)
	}
	return append(b, '}')
}

// writeError writes e as OpenAI's error JSON with its status.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	if e.retryAfter > 0 {
		h.Set("Retry-After", retryAfterSeconds(e.retryAfter))
	}
	b := make([]byte, 0, 160+len(e.message))
	b = append(b, `{"error":`...)
	b = appendErrorObject(b, e)
	b = append(b, "}\n"...)
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
