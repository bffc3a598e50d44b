package runnertest

import (
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

// DefaultPrompt is the user message the suite sends when Harness.Prompt is
// empty: long enough for several tokens of any runner.
const DefaultPrompt = "The quick brown fox jumps over the lazy dog while the old cat sleeps in the warm afternoon sun"

// Harness describes a runner to the suite. New is required; the zero value
// of every other field means the documented default.
type Harness struct {
	// New returns a fresh runner, and its fault injectors, for one subtest
	// (and once more to list the SessionFaults). Register any cleanup
	// (servers, files) with t.Cleanup.
	New func(t *testing.T) *Instance

	// Prompt is the user message of every request (default DefaultPrompt).
	// The runner must answer it with more than MaxTokens tokens, in more
	// than one chunk when streaming.
	Prompt string
	// Model is the batch's model field (default "test-model").
	Model string
	// MaxTokens is the small max_tokens of the length check (default 3).
	MaxTokens int32
	// ReplyTokens is the max_tokens of every other request (default 0: the
	// runner's default). Local runners set it to keep the suite fast; it
	// must leave room for more than MaxTokens tokens.
	ReplyTokens int32
	// Deterministic says the same request always gets the same text (the
	// fake, greedy local sampling, canned test servers). It enables the
	// checks that compare texts across requests.
	Deterministic bool
	// Stop says the runner (or its test server) applies Sampling.Stop. It
	// enables the stop check, which also needs Deterministic.
	Stop bool
	// Timeout bounds every wait of the suite (default 10s). A runner that
	// holds it is broken; it is not a performance target.
	Timeout time.Duration
}

// Instance is one runner under test with its optional fault injectors. A
// nil injector skips the subtests that need it.
type Instance struct {
	// Runner is the runner under test. Required.
	Runner runners.ModelRunner

	// RateLimitNext makes the next request fail with rate_limited and a
	// retry hint of retryAfter (a provider 429), at Execute or before the
	// first chunk; the request after it succeeds.
	RateLimitNext func(retryAfter time.Duration)
	// CutNext makes the next streaming request send afterChunks chunks and
	// then fail in-band with a network, server or timeout error (a
	// connection lost mid-stream); the request after it succeeds.
	CutNext func(afterChunks int)
	// Stall makes streams started from now send afterChunks chunks and then
	// nothing until their context is cancelled, their handle is closed or
	// release is called (which ends the stall). The suite always releases.
	Stall func(afterChunks int) (release func())
	// SessionFaults break the runner's session: after Inject every request
	// fails with an error that Classify reports as a session fault with
	// Cause, until RebuildSession(Cause) succeeds.
	SessionFaults []SessionFault
	// FailRebuild makes later RebuildSession calls fail.
	FailRebuild func()
	// InFlight, when set, reports the requests the runner still works on;
	// the leak checks wait for it to reach 0 as well as for the goroutine
	// count to settle.
	InFlight func() int
}

// SessionFault is one way to break a runner's session.
type SessionFault struct {
	// Name names the subtest (default: the cause).
	Name   string
	Cause  runners.SessionRebuildCause
	Inject func()
}

// Run runs the conformance suite against h as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("runnertest: Harness.New is nil")
	}
	if h.Prompt == "" {
		h.Prompt = DefaultPrompt
	}
	if h.Model == "" {
		h.Model = "test-model"
	}
	if h.MaxTokens <= 0 {
		h.MaxTokens = 3
	}
	if h.ReplyTokens < 0 {
		h.ReplyTokens = 0
	}
	if h.Timeout <= 0 {
		h.Timeout = 10 * time.Second
	}
	s := &suite{h: h}
	for _, c := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Kinds", s.kinds},
		{"Stream", s.stream},
		{"Unary", s.unary},
		{"StreamMatchesUnary", s.streamMatchesUnary},
		{"MaxTokens", s.maxTokens},
		{"Stop", s.stop},
		{"CancelledBeforeExecute", s.cancelledBeforeExecute},
		{"CancelMidStream", s.cancelMidStream},
		{"DeadlineMidStream", s.deadlineMidStream},
		{"CloseUnblocksRecv", s.closeUnblocksRecv},
		{"CloseBeforeDrain", s.closeBeforeDrain},
		{"Concurrent", s.concurrent},
		{"RateLimited", s.rateLimited},
		{"StreamCut", s.streamCut},
		{"SessionFaults", s.sessionFaults},
		{"RebuildHealthy", s.rebuildHealthy},
		{"RebuildFailure", s.rebuildFailure},
		{"Cost", s.cost},
	} {
		t.Run(c.name, c.f)
	}
}

type suite struct {
	h Harness
}

// instance builds a fresh instance and checks it.
func (s *suite) instance(t *testing.T) *Instance {
	t.Helper()
	in := s.h.New(t)
	if in == nil || in.Runner == nil {
		t.Fatal("Harness.New returned no runner")
	}
	return in
}
