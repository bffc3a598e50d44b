package fake

import (
	"context"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

var (
	_ runners.Healther          = (*Runner)(nil)
	_ runners.RateLimitReporter = (*Runner)(nil)
)

// Healthy implements runners.Healther, the probe an actor runs after a
// rebuild: it fails with the FailHealth error when one is set, with
// cuda_context_poisoned while the session is poisoned, with unauthorized
// while the credentials are expired, and with a cancelled or timeout error
// when ctx is done.
func (r *Runner) Healthy(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return ctxError(err, "", false)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.healthErr != nil {
		return typed(r.healthErr, "")
	}
	if r.poisoned.Load() {
		return poisonError("", false)
	}
	if r.authFailed {
		return &messages.Error{Code: runners.CodeUnauthorized, HttpStatus: 401, Message: "fake: invalid or expired API key"}
	}
	return nil
}

// FailHealth makes Healthy fail with err (nil: report the session state
// again), for a replica that rebuilds without error but stays broken.
func (r *Runner) FailHealth(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.healthErr = err
}

// SetRateLimitSink implements runners.RateLimitReporter. The sink receives
// what ReportRateLimit sends and, with WithRateLimitFeedback, the retry hint
// of every injected rate limit. It is called on the goroutine of the call
// that reports.
func (r *Runner) SetRateLimitSink(sink func(*messages.RateLimitFeedback)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sink = sink
}

// ReportRateLimit delivers fb to the registered sink now, as a provider's
// rate-limit headers would; it reports whether a sink was registered.
func (r *Runner) ReportRateLimit(fb *messages.RateLimitFeedback) bool {
	r.mu.Lock()
	sink := r.sink
	r.mu.Unlock()
	if sink == nil {
		return false
	}
	sink(fb)
	return true
}
