package fake

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Stage says where an injected call failure (FailNth, FailFrom,
// RateLimitNext, PoisonContext, ExpireAuth) surfaces.
type Stage int

const (
	// AtExecute: Execute returns the error and no handle. The default.
	AtExecute Stage = iota
	// AtFirstRecv: Execute returns a handle whose first Recv returns the
	// error, before any chunk, as a provider that fails after accepting
	// the request does.
	AtFirstRecv
)

// String returns "at_execute" or "at_first_recv".
func (s Stage) String() string {
	if s == AtFirstRecv {
		return "at_first_recv"
	}
	return "at_execute"
}

type failRule struct {
	n    int
	from bool
	err  error
}

// SetFaultStage sets where later injected call failures surface.
func (r *Runner) SetFaultStage(s Stage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stage = s
}

// FailNth makes the nth Execute call (1-based, counted since New, as
// Executes reports) fail with err. A *messages.Error is copied per call
// with the batch's request id filled in; other errors are returned as is.
func (r *Runner) FailNth(n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, failRule{n: n, err: err})
}

// FailFrom makes every Execute call from the nth on fail with err.
func (r *Runner) FailFrom(n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, failRule{n: n, from: true, err: err})
}

// RateLimitNext makes the next k Execute calls fail with rate_limited
// (http_status 429) carrying retryAfter as their retry hint.
func (r *Runner) RateLimitNext(k int, retryAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rateLeft, r.retryAfter = k, retryAfter
}

// PoisonContext breaks the session as a CUDA fault does: every Execute
// fails with cuda_context_poisoned, and running streams fail with it at
// their next token, until RebuildSession(CudaContextPoisoned) or
// RebuildSession(Manual) succeeds.
func (r *Runner) PoisonContext() { r.poisoned.Store(true) }

// Poisoned reports whether the session is poisoned.
func (r *Runner) Poisoned() bool { return r.poisoned.Load() }

// ExpireAuth makes the credentials invalid: every Execute fails with
// unauthorized (http_status 401) until RebuildSession(RemoteAuthFailure),
// RebuildSession(RemoteConfigChange) or RebuildSession(Manual) succeeds.
// Running streams are not affected.
func (r *Runner) ExpireAuth() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.authFailed = true
}

// AuthExpired reports whether the credentials are invalid.
func (r *Runner) AuthExpired() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authFailed
}

// FailRebuild makes every later RebuildSession fail with err, leaving the
// faults in place (a permanently unhealthy replica); nil makes rebuilds
// succeed again. A *messages.Error is copied per call.
func (r *Runner) FailRebuild(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebuildErr = err
}

// Stall is StallAfter(0): streams started from now produce nothing.
func (r *Runner) Stall() { r.StallAfter(0) }

// StallAfter makes every stream started from now on (until Release) produce
// k chunks and then nothing more until Release is called or its context is
// cancelled or its handle closed. A stream with k or fewer tokens stalls
// before its last chunk, so a stalled stream never completes. Calling it
// while stalled changes k for later streams only.
func (r *Runner) StallAfter(k int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stallCh == nil {
		r.stallCh = make(chan struct{})
	}
	r.stallAt = max(k, 0)
}

// Release resumes every stalled stream and ends the stall.
func (r *Runner) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releaseLocked()
}

func (r *Runner) releaseLocked() {
	if r.stallCh != nil {
		close(r.stallCh)
		r.stallCh = nil
	}
}

// CutAfter makes the next stream send k chunks (none with a finish reason)
// and then fail in-band with a network error marked after_first_chunk, as a
// connection reset mid-stream does. A non-streaming request fails before
// its only chunk. It applies once.
func (r *Runner) CutAfter(k int) { r.CutAfterWith(k, nil) }

// CutAfterWith is CutAfter with err as the in-band error (nil: the network
// error).
func (r *Runner) CutAfterWith(k int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cutAt, r.cutErr = max(k, 0), err
}

// Heal clears every fault: failure rules, rate limits, poison, expired
// auth, rebuild and health failures, an armed cut, and the stall (releasing
// stalled streams). It keeps the counters, the fault stage and the sink.
func (r *Runner) Heal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = nil
	r.rateLeft = 0
	r.poisoned.Store(false)
	r.authFailed = false
	r.rebuildErr = nil
	r.healthErr = nil
	r.cutAt, r.cutErr = -1, nil
	r.releaseLocked()
}

// faultLocked returns the failure call must fail with, consuming one-shot
// faults, or nil. Precedence: poison, auth, failure rules, rate limit.
func (r *Runner) faultLocked(call int, reqID string) error {
	if r.poisoned.Load() {
		return poisonError(reqID, false)
	}
	if r.authFailed {
		e := &messages.Error{Code: runners.CodeUnauthorized, HttpStatus: 401, RequestId: reqID,
			Message: "fake: invalid or expired API key"}
		if r.cfg.transport.Class == runners.RemoteNetwork {
			e.Provider = string(r.cfg.transport.Provider)
		}
		return e
	}
	for _, rule := range r.rules {
		if call == rule.n || rule.from && call >= rule.n {
			return typed(rule.err, reqID)
		}
	}
	if r.rateLeft > 0 {
		r.rateLeft--
		e := runners.RateLimitedError("", r.retryAfter, "fake: too many requests")
		e.HttpStatus, e.RequestId = 429, reqID
		if r.cfg.transport.Class == runners.RemoteNetwork {
			e.Provider = string(r.cfg.transport.Provider)
		}
		return e
	}
	return nil
}

func poisonError(reqID string, afterFirst bool) *messages.Error {
	return &messages.Error{Code: runners.CodeCudaContextPoisoned, RequestId: reqID,
		AfterFirstChunk: afterFirst, Message: "fake: CUDA context poisoned"}
}

func cutError(err error, reqID string, afterFirst bool) error {
	if err != nil {
		e := typed(err, reqID)
		if m, ok := e.(*messages.Error); ok {
			m.AfterFirstChunk = m.AfterFirstChunk || afterFirst
		}
		return e
	}
	return &messages.Error{Code: runners.CodeNetwork, RequestId: reqID, AfterFirstChunk: afterFirst,
		Message: "fake: connection reset mid-stream"}
}

// ctxError types a context error: cancelled, or timeout on a deadline.
func ctxError(err error, reqID string, afterFirst bool) *messages.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &messages.Error{Code: runners.CodeTimeout, RequestId: reqID, AfterFirstChunk: afterFirst,
			Message: "fake: deadline exceeded"}
	}
	return &messages.Error{Code: runners.CodeCancelled, RequestId: reqID, AfterFirstChunk: afterFirst,
		Message: "fake: request cancelled"}
}

// typed returns a private copy of a *messages.Error with reqID filled in,
// or err unchanged.
func typed(err error, reqID string) error {
	e, ok := err.(*messages.Error)
	if !ok || e == nil {
		if err == nil {
			return runners.Errorf(runners.CodeInternal, "fake: injected failure")
		}
		return err
	}
	c := proto.Clone(e).(*messages.Error)
	if c.RequestId == "" {
		c.RequestId = reqID
	}
	return c
}
