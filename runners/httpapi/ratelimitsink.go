package httpapi

import (
	"sync/atomic"

	"github.com/actorinfer/actorinfer/messages"
)

// RateLimitSink holds the callback an HTTP runner hands its rate-limit
// feedback to. Embedded in a runner, it implements runners.RateLimitReporter;
// its Report method is the session's SessionOptions.OnRateLimit. The zero
// value holds no callback; it is safe for concurrent use.
type RateLimitSink struct {
	f atomic.Pointer[func(*messages.RateLimitFeedback)]
}

// SetRateLimitSink implements runners.RateLimitReporter: f (nil: none)
// receives the provider's rate-limit headers and the retry hint of each 429.
func (s *RateLimitSink) SetRateLimitSink(f func(*messages.RateLimitFeedback)) {
	if f == nil {
		s.f.Store(nil)
		return
	}
	s.f.Store(&f)
}

// Report hands fb to the registered callback, if any.
func (s *RateLimitSink) Report(fb *messages.RateLimitFeedback) {
	if f := s.f.Load(); f != nil {
		(*f)(fb)
	}
}
