package runners

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/actorinfer/actorinfer/messages"
)

// Code is a short alias for the wire error code.
type Code = messages.ErrorCode

// The error codes, re-exported under short names.
const (
	CodeRateLimited           = messages.ErrorCode_ERROR_CODE_RATE_LIMITED
	CodeServerError           = messages.ErrorCode_ERROR_CODE_SERVER_ERROR
	CodeTimeout               = messages.ErrorCode_ERROR_CODE_TIMEOUT
	CodeNetwork               = messages.ErrorCode_ERROR_CODE_NETWORK
	CodeContentFiltered       = messages.ErrorCode_ERROR_CODE_CONTENT_FILTERED
	CodeContextLengthExceeded = messages.ErrorCode_ERROR_CODE_CONTEXT_LENGTH_EXCEEDED
	CodeBadRequest            = messages.ErrorCode_ERROR_CODE_BAD_REQUEST
	CodeUnauthorized          = messages.ErrorCode_ERROR_CODE_UNAUTHORIZED
	CodeForbidden             = messages.ErrorCode_ERROR_CODE_FORBIDDEN
	CodeNotFound              = messages.ErrorCode_ERROR_CODE_NOT_FOUND
	CodeCircuitOpen           = messages.ErrorCode_ERROR_CODE_CIRCUIT_OPEN
	CodeBackpressure          = messages.ErrorCode_ERROR_CODE_BACKPRESSURE
	CodeBudgetExceeded        = messages.ErrorCode_ERROR_CODE_BUDGET_EXCEEDED
	CodeCudaContextPoisoned   = messages.ErrorCode_ERROR_CODE_CUDA_CONTEXT_POISONED
	CodeCancelled             = messages.ErrorCode_ERROR_CODE_CANCELLED
	CodeUnsupported           = messages.ErrorCode_ERROR_CODE_UNSUPPORTED
	CodeInternal              = messages.ErrorCode_ERROR_CODE_INTERNAL
)

// Sentinels for errors.Is checks by code: errors.Is(err, runners.ErrRateLimited)
// is true for any *messages.Error with that code.
var (
	ErrRateLimited    = &messages.Error{Code: CodeRateLimited}
	ErrBudgetExceeded = &messages.Error{Code: CodeBudgetExceeded}
	ErrCircuitOpen    = &messages.Error{Code: CodeCircuitOpen}
	ErrBackpressure   = &messages.Error{Code: CodeBackpressure}
	ErrTimeout        = &messages.Error{Code: CodeTimeout}
	ErrCancelled      = &messages.Error{Code: CodeCancelled}
	ErrUnauthorized   = &messages.Error{Code: CodeUnauthorized}
)

// Errorf returns a *messages.Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *messages.Error {
	return &messages.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// RateLimitedError returns a rate_limited error with a retry hint.
func RateLimitedError(scope string, retryAfter time.Duration, format string, args ...any) *messages.Error {
	return &messages.Error{Code: CodeRateLimited, Scope: scope,
		RetryAfterMs: retryAfterMs(retryAfter), Message: fmt.Sprintf(format, args...)}
}

func retryAfterMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	ms := d.Milliseconds()
	if time.Duration(ms)*time.Millisecond < d {
		ms++ // round up: never tell a caller to come back early
	}
	return ms
}

// SessionFault is the failure a RunnerActor raises (by panic) when its
// runner's session is broken. The supervisor's decider finds it with
// errors.As and restarts the actor, which calls RebuildSession(Cause).
type SessionFault struct {
	Cause SessionRebuildCause
	Err   error
}

// Error describes the fault without secrets.
func (f *SessionFault) Error() string {
	if f.Err == nil {
		return "runners: session fault: " + f.Cause.String()
	}
	return fmt.Sprintf("runners: session fault (%s): %v", f.Cause, f.Err)
}

// Unwrap returns the underlying error.
func (f *SessionFault) Unwrap() error { return f.Err }

// Class is what the classifier says about an error.
type Class struct {
	// Code is the typed code (internal for untyped errors).
	Code Code
	// Retryable: the same request may be retried (on this deployment, after
	// a backoff) with a reasonable chance of success.
	Retryable bool
	// Breaker: the failure counts against the circuit breaker of the
	// provider endpoint (server errors, timeouts and network errors only).
	Breaker bool
	// Fallback: a router or fallback chain may hand the request to another
	// deployment (only before the first token has been sent).
	Fallback bool
	// SessionFault: the runner's session is broken; Cause says how to rebuild.
	SessionFault bool
	Cause        SessionRebuildCause
}

// AsError returns err as a *messages.Error: the typed error it wraps, a
// mapping of context and network errors, or an internal error. nil stays nil.
func AsError(err error) *messages.Error {
	if err == nil {
		return nil
	}
	var e *messages.Error
	if errors.As(err, &e) {
		return e
	}
	var sf *SessionFault
	if errors.As(err, &sf) {
		code := CodeInternal
		switch sf.Cause {
		case CudaContextPoisoned:
			code = CodeCudaContextPoisoned
		case RemoteAuthFailure:
			code = CodeUnauthorized
		}
		return &messages.Error{Code: code, Message: sf.Error()}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &messages.Error{Code: CodeCancelled, Message: "request cancelled"}
	case errors.Is(err, context.DeadlineExceeded):
		return &messages.Error{Code: CodeTimeout, Message: "deadline exceeded"}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return &messages.Error{Code: CodeTimeout, Message: err.Error()}
		}
		return &messages.Error{Code: CodeNetwork, Message: err.Error()}
	}
	return &messages.Error{Code: CodeInternal, Message: err.Error()}
}

// Classify is the one classifier for every runner error: retryable, counts
// against the breaker, fallback-eligible, session fault and its cause.
func Classify(err error) Class {
	if err == nil {
		return Class{}
	}
	var sf *SessionFault
	if errors.As(err, &sf) {
		return Class{Code: AsError(err).GetCode(), SessionFault: true, Cause: sf.Cause, Retryable: true}
	}
	code := AsError(err).GetCode()
	c := Class{Code: code}
	switch code {
	case CodeRateLimited:
		c.Retryable, c.Fallback = true, true
	case CodeServerError, CodeTimeout, CodeNetwork:
		c.Retryable, c.Breaker, c.Fallback = true, true, true
	case CodeCircuitOpen, CodeBackpressure, CodeBudgetExceeded:
		c.Fallback = true
	case CodeUnauthorized:
		c.SessionFault, c.Cause, c.Retryable = true, RemoteAuthFailure, true
	case CodeCudaContextPoisoned:
		c.SessionFault, c.Cause, c.Retryable = true, CudaContextPoisoned, true
	}
	return c
}

// CauseFromWire and CauseToWire convert between the Go and wire causes.
func CauseFromWire(c messages.RebuildCause) SessionRebuildCause {
	switch c {
	case messages.RebuildCause_REBUILD_CAUSE_CUDA_CONTEXT_POISONED:
		return CudaContextPoisoned
	case messages.RebuildCause_REBUILD_CAUSE_REMOTE_AUTH_FAILURE:
		return RemoteAuthFailure
	case messages.RebuildCause_REBUILD_CAUSE_REMOTE_CONFIG_CHANGE:
		return RemoteConfigChange
	case messages.RebuildCause_REBUILD_CAUSE_MANUAL:
		return Manual
	}
	return CauseUnknown
}

// CauseToWire converts a SessionRebuildCause to its wire enum.
func CauseToWire(c SessionRebuildCause) messages.RebuildCause {
	switch c {
	case CudaContextPoisoned:
		return messages.RebuildCause_REBUILD_CAUSE_CUDA_CONTEXT_POISONED
	case RemoteAuthFailure:
		return messages.RebuildCause_REBUILD_CAUSE_REMOTE_AUTH_FAILURE
	case RemoteConfigChange:
		return messages.RebuildCause_REBUILD_CAUSE_REMOTE_CONFIG_CHANGE
	case Manual:
		return messages.RebuildCause_REBUILD_CAUSE_MANUAL
	}
	return messages.RebuildCause_REBUILD_CAUSE_UNSPECIFIED
}
