package runners_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// netErr is a net.Error with a chosen Timeout.
type netErr struct{ timeout bool }

func (e netErr) Error() string   { return fmt.Sprintf("net error (timeout %v)", e.timeout) }
func (e netErr) Timeout() bool   { return e.timeout }
func (e netErr) Temporary() bool { return false }

var _ net.Error = netErr{}

func TestAsError(t *testing.T) {
	typed := runners.Errorf(runners.CodeForbidden, "no")
	tests := []struct {
		name string
		err  error
		want runners.Code
		same bool // AsError returns the wrapped *messages.Error itself
	}{
		{"typed", typed, runners.CodeForbidden, true},
		{"wrapped typed", fmt.Errorf("layer: %w", typed), runners.CodeForbidden, true},
		{"session fault cuda", &runners.SessionFault{Cause: runners.CudaContextPoisoned}, runners.CodeCudaContextPoisoned, false},
		{"session fault auth", &runners.SessionFault{Cause: runners.RemoteAuthFailure, Err: errors.New("401")}, runners.CodeUnauthorized, false},
		{"session fault config", &runners.SessionFault{Cause: runners.RemoteConfigChange}, runners.CodeInternal, false},
		{"session fault wrapping typed", &runners.SessionFault{Cause: runners.Manual, Err: typed}, runners.CodeForbidden, true},
		{"canceled", context.Canceled, runners.CodeCancelled, false},
		{"wrapped deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), runners.CodeTimeout, false},
		{"net timeout", netErr{timeout: true}, runners.CodeTimeout, false},
		{"net error", &net.OpError{Op: "read", Err: netErr{}}, runners.CodeNetwork, false},
		{"plain", errors.New("boom"), runners.CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runners.AsError(tt.err)
			if got.GetCode() != tt.want {
				t.Errorf("AsError(%v).Code = %v, want %v", tt.err, got.GetCode(), tt.want)
			}
			if (got == typed) != tt.same {
				t.Errorf("AsError(%v) returned the wrapped error itself = %v, want %v", tt.err, got == typed, tt.same)
			}
			if got.GetMessage() == "" && !tt.same {
				t.Errorf("AsError(%v).Message is empty", tt.err)
			}
		})
	}
	if got := runners.AsError(nil); got != nil {
		t.Errorf("AsError(nil) = %v, want nil", got)
	}
}

func TestClassify(t *testing.T) {
	code := func(c runners.Code) error { return runners.Errorf(c, "x") }
	tests := []struct {
		name string
		err  error
		want runners.Class
	}{
		{"nil", nil, runners.Class{}},
		{"rate limited", code(runners.CodeRateLimited),
			runners.Class{Code: runners.CodeRateLimited, Retryable: true, Fallback: true}},
		{"server error", code(runners.CodeServerError),
			runners.Class{Code: runners.CodeServerError, Retryable: true, Breaker: true, Fallback: true}},
		{"timeout", code(runners.CodeTimeout),
			runners.Class{Code: runners.CodeTimeout, Retryable: true, Breaker: true, Fallback: true}},
		{"network", code(runners.CodeNetwork),
			runners.Class{Code: runners.CodeNetwork, Retryable: true, Breaker: true, Fallback: true}},
		{"deadline exceeded", context.DeadlineExceeded,
			runners.Class{Code: runners.CodeTimeout, Retryable: true, Breaker: true, Fallback: true}},
		{"circuit open", code(runners.CodeCircuitOpen), runners.Class{Code: runners.CodeCircuitOpen, Fallback: true}},
		{"backpressure", code(runners.CodeBackpressure), runners.Class{Code: runners.CodeBackpressure, Fallback: true}},
		{"budget", code(runners.CodeBudgetExceeded), runners.Class{Code: runners.CodeBudgetExceeded, Fallback: true}},
		{"unauthorized", code(runners.CodeUnauthorized),
			runners.Class{Code: runners.CodeUnauthorized, Retryable: true, SessionFault: true, Cause: runners.RemoteAuthFailure}},
		{"cuda poisoned", fmt.Errorf("launch: %w", code(runners.CodeCudaContextPoisoned)),
			runners.Class{Code: runners.CodeCudaContextPoisoned, Retryable: true, SessionFault: true, Cause: runners.CudaContextPoisoned}},
		{"session fault config change", &runners.SessionFault{Cause: runners.RemoteConfigChange},
			runners.Class{Code: runners.CodeInternal, Retryable: true, SessionFault: true, Cause: runners.RemoteConfigChange}},
		{"session fault manual wrapping typed", fmt.Errorf("actor: %w", &runners.SessionFault{Cause: runners.Manual, Err: code(runners.CodeServerError)}),
			runners.Class{Code: runners.CodeServerError, Retryable: true, SessionFault: true, Cause: runners.Manual}},
		{"bad request", code(runners.CodeBadRequest), runners.Class{Code: runners.CodeBadRequest}},
		{"context length", code(runners.CodeContextLengthExceeded), runners.Class{Code: runners.CodeContextLengthExceeded}},
		{"content filtered", code(runners.CodeContentFiltered), runners.Class{Code: runners.CodeContentFiltered}},
		{"forbidden", code(runners.CodeForbidden), runners.Class{Code: runners.CodeForbidden}},
		{"not found", code(runners.CodeNotFound), runners.Class{Code: runners.CodeNotFound}},
		{"cancelled", context.Canceled, runners.Class{Code: runners.CodeCancelled}},
		{"unsupported", code(runners.CodeUnsupported), runners.Class{Code: runners.CodeUnsupported}},
		{"untyped", errors.New("boom"), runners.Class{Code: runners.CodeInternal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runners.Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %+v, want %+v", tt.err, got, tt.want)
			}
		})
	}
}

func TestSentinels(t *testing.T) {
	tests := []struct {
		err      error
		sentinel error
		want     bool
	}{
		{runners.RateLimitedError("rpm", time.Second, "slow"), runners.ErrRateLimited, true},
		{fmt.Errorf("w: %w", runners.Errorf(runners.CodeTimeout, "t")), runners.ErrTimeout, true},
		{runners.Errorf(runners.CodeTimeout, "t"), runners.ErrRateLimited, false},
		{runners.Errorf(runners.CodeUnauthorized, "k"), runners.ErrUnauthorized, true},
		{runners.Errorf(runners.CodeCancelled, "c"), runners.ErrCancelled, true},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.sentinel); got != tt.want {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.sentinel, got, tt.want)
		}
	}
}

func TestRateLimitedError(t *testing.T) {
	tests := []struct {
		retryAfter time.Duration
		wantMs     int64
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Second, 1000},
		{1500 * time.Microsecond, 2}, // rounded up, never early
		{time.Nanosecond, 1},
	}
	for _, tt := range tests {
		e := runners.RateLimitedError("tpm", tt.retryAfter, "wait %d", 1)
		if e.GetRetryAfterMs() != tt.wantMs || e.GetCode() != runners.CodeRateLimited || e.GetScope() != "tpm" || e.GetMessage() != "wait 1" {
			t.Errorf("RateLimitedError(tpm, %v) = %+v, want rate_limited, scope tpm, %d ms", tt.retryAfter, e, tt.wantMs)
		}
	}
}

func TestSessionFaultError(t *testing.T) {
	tests := []struct {
		f    *runners.SessionFault
		want string
	}{
		{&runners.SessionFault{Cause: runners.CudaContextPoisoned}, "runners: session fault: cuda_context_poisoned"},
		{&runners.SessionFault{Cause: runners.RemoteAuthFailure, Err: errors.New("401")}, "runners: session fault (remote_auth_failure): 401"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	inner := errors.New("inner")
	var sf *runners.SessionFault
	if err := fmt.Errorf("actor: %w", &runners.SessionFault{Cause: runners.Manual, Err: inner}); !errors.As(err, &sf) || !errors.Is(err, inner) {
		t.Errorf("errors.As/Is through a wrapped SessionFault failed")
	}
}

func TestCauses(t *testing.T) {
	for _, c := range runners.AllCauses {
		if got := runners.CauseFromWire(runners.CauseToWire(c)); got != c {
			t.Errorf("CauseFromWire(CauseToWire(%v)) = %v, want %v", c, got, c)
		}
		if c.String() == "unknown" {
			t.Errorf("%d.String() = unknown, want a name", int(c))
		}
	}
	if got := runners.CauseToWire(runners.CauseUnknown); got != messages.RebuildCause_REBUILD_CAUSE_UNSPECIFIED {
		t.Errorf("CauseToWire(unknown) = %v, want unspecified", got)
	}
	if got := runners.CauseFromWire(messages.RebuildCause_REBUILD_CAUSE_UNSPECIFIED); got != runners.CauseUnknown {
		t.Errorf("CauseFromWire(unspecified) = %v, want unknown", got)
	}
}

func TestTransportKind(t *testing.T) {
	tests := []struct {
		k         runners.TransportKind
		str, role string
	}{
		{runners.TransportKind{}, "local_cpu", "gpu"},
		{runners.TransportLocalCPU(), "local_cpu", "gpu"},
		{runners.TransportLocalGPU(), "local_gpu", "gpu"},
		{runners.TransportRemote(runners.ProviderGemini), "remote_network(gemini)", "egress"},
	}
	for _, tt := range tests {
		if tt.k.String() != tt.str || tt.k.Role() != tt.role {
			t.Errorf("%+v String(), Role() = %q, %q, want %q, %q", tt.k, tt.k.String(), tt.k.Role(), tt.str, tt.role)
		}
	}
}
