package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// SessionOptions are the parts of a session that are not configuration.
type SessionOptions struct {
	// Table classifies error responses; nil means NewErrorTable(provider).
	Table *ErrorTable
	// Clock times the timeouts and the backoff sleeps; nil means clock.Real.
	Clock clock.Clock
	// OnRateLimit, when set, receives the rate-limit headers of every
	// response that carries them (from the request's goroutine).
	OnRateLimit func(*messages.RateLimitFeedback)
	// RequireKey makes NewSession fail when Config.APIKey is zero (OpenAI,
	// Anthropic, Gemini); OpenAI-compatible servers may run without a key.
	RequireKey bool
	// Jitter returns a random duration in [0, n]; nil means math/rand/v2.
	// Tests use it to pin the backoff.
	Jitter func(n time.Duration) time.Duration
	// DialContext replaces the network dialer (tests). The connect timeout
	// still applies around it.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig, when set, is used by the transport (tests with a private CA).
	TLSConfig *tls.Config
}

// Session is one HTTP runner's connection state: its resolved credential and
// one pooled *http.Client (keep-alive, HTTP/2 when TLS offers it), built from
// a Config snapshot. A runner keeps the current session in an atomic pointer
// and replaces it on RebuildSession; requests started on the old session
// finish on it. A Session is safe for concurrent use.
type Session struct {
	cfg       Config // defaults applied
	key       string
	client    *http.Client
	transport *http.Transport
	table     *ErrorTable
	clock     clock.Clock
	onRL      func(*messages.RateLimitFeedback)
	jitter    func(time.Duration) time.Duration
}

// NewSession validates cfg, resolves its credential and builds the client.
// Errors name the offending field or secret source, never a secret.
func NewSession(cfg Config, opts SessionOptions) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Timeouts = cfg.Timeouts.WithDefaults()
	cfg.Retry = cfg.Retry.WithDefaults()
	if cfg.NonIdempotent {
		cfg.Retry.MaxRetries = 0
	}
	if cfg.DefaultMaxTokens == 0 {
		cfg.DefaultMaxTokens = DefaultMaxTokens
	}
	if cfg.MaxSSELine == 0 {
		cfg.MaxSSELine = DefaultMaxSSELine
	}
	var key string
	if !cfg.APIKey.IsZero() {
		k, err := cfg.APIKey.Resolve()
		if err != nil {
			return nil, err
		}
		key = k
	} else if opts.RequireKey {
		return nil, fmt.Errorf("httpapi: api_key: %s requires a credential", cfg.Provider)
	}
	s := &Session{cfg: cfg, key: key, table: opts.Table, clock: opts.Clock, onRL: opts.OnRateLimit, jitter: opts.Jitter}
	if s.table == nil {
		s.table = NewErrorTable(string(cfg.Provider), nil, nil)
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.jitter == nil {
		s.jitter = func(n time.Duration) time.Duration {
			if n <= 0 {
				return 0
			}
			return rand.N(n + 1)
		}
	}
	dial := opts.DialContext
	if dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	connect := cfg.Timeouts.Connect
	s.transport = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, connect)
			defer cancel()
			c, err := dial(dctx, network, addr)
			if err != nil && ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
				return nil, &connectTimeoutError{d: connect}
			}
			return c, err
		},
		TLSClientConfig:       opts.TLSConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
	}
	s.client = &http.Client{Transport: s.transport}
	return s, nil
}

// Config returns the session's configuration with defaults applied.
func (s *Session) Config() Config { return s.cfg }

// Key returns the resolved credential ("" when none is configured). Put it
// in a header; never in an error, a log line or a URL that may be logged.
func (s *Session) Key() string { return s.key }

// Client returns the session's pooled client.
func (s *Session) Client() *http.Client { return s.client }

// Table returns the session's error table.
func (s *Session) Table() *ErrorTable { return s.table }

// Clock returns the session's clock.
func (s *Session) Clock() clock.Clock { return s.clock }

// CloseIdleConnections releases the pooled idle connections. Requests in
// flight are not affected; a replaced session calls it so that its pool
// drains as they finish.
func (s *Session) CloseIdleConnections() { s.transport.CloseIdleConnections() }

// Sanitize is Sanitize with the session's credential as a secret.
func (s *Session) Sanitize(text string, max int) string { return Sanitize(text, max, s.key) }

// connectTimeoutError is the dial error when Timeouts.Connect expires.
type connectTimeoutError struct{ d time.Duration }

func (e *connectTimeoutError) Error() string   { return fmt.Sprintf("connect timeout after %s", e.d) }
func (e *connectTimeoutError) Timeout() bool   { return true }
func (e *connectTimeoutError) Temporary() bool { return true }

// BuildFunc returns a fresh request for one attempt. It must use ctx (with
// http.NewRequestWithContext) and give the request a body that can be read
// once (it is rebuilt for every attempt).
type BuildFunc func(ctx context.Context) (*http.Request, error)

// Do sends the request built by build and returns once a 2xx response's
// headers have arrived. Until then it retries per the session's RetryPolicy:
// rate_limited, server_error, network, and connect or first-token timeouts,
// waiting max(Retry-After hint, full-jitter backoff) on the session clock. A
// hint longer than the request's remaining time (Timeouts.Total and ctx's
// deadline) or than MaxBackoff fails the request at once with the hint in
// RetryAfterMs, so that a fallback can take it. 401 is not retried: it is
// returned as unauthorized for the supervisor to rebuild the session.
//
// Errors are *messages.Error with Provider set. The returned Response holds
// the request's timers; the caller must Close it. Reading its Body applies
// the first-token and idle timeouts; read errors are typed by Response.Err.
func (s *Session) Do(ctx context.Context, build BuildFunc) (*Response, error) {
	c := &call{s: s, parent: ctx, start: s.clock.Now()}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	total := s.cfg.Timeouts.Total
	c.total = s.clock.AfterFunc(total, func() {
		c.cancel(s.timeoutError("total", "request exceeded its total timeout of %s", total))
	})
	pol := s.cfg.Retry
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(build)
		if err == nil {
			resp.Attempts = attempt + 1
			return resp, nil
		}
		if attempt >= pol.MaxRetries || !retryable(err) {
			c.release()
			return nil, withAttempts(err, attempt+1)
		}
		remaining := c.remaining()
		var hint time.Duration
		if !pol.IgnoreRetryAfter {
			hint = err.RetryAfter()
		}
		if hint > 0 && (hint >= remaining || hint > pol.MaxBackoff) {
			c.release()
			err.Message += fmt.Sprintf(" (retry-after %s is beyond what this request may wait)", hint)
			return nil, withAttempts(err, attempt+1)
		}
		wait := s.Backoff(attempt, hint)
		if wait >= remaining {
			c.release()
			return nil, withAttempts(err, attempt+1)
		}
		select {
		case <-s.clock.After(wait):
		case <-c.ctx.Done():
			c.release()
			return nil, c.ctxError(nil)
		}
	}
}

func withAttempts(e *messages.Error, n int) *messages.Error {
	if n > 1 {
		e.Message += fmt.Sprintf(" (after %d attempts)", n)
	}
	return e
}

// Backoff is the wait before retry number retry (0-based) under the
// session's policy: full jitter under InitialBackoff·2^retry, capped by
// MaxBackoff, never below hint (unless the policy ignores Retry-After).
// Runners that re-send a request whose stream failed before its first chunk
// use it too, so both waits follow one rule.
func (s *Session) Backoff(retry int, hint time.Duration) time.Duration {
	pol := s.cfg.Retry
	ceil := pol.InitialBackoff << min(retry, 30)
	if ceil <= 0 || ceil > pol.MaxBackoff {
		ceil = pol.MaxBackoff
	}
	if pol.IgnoreRetryAfter {
		hint = 0
	}
	return max(hint, s.jitter(ceil))
}

// Resend reads resp with read and, while the read fails before any chunk
// reached the caller (started reports false) with an error that
// RetryableBeforeFirst allows, waits Backoff and reads a fresh response
// from send, up to the policy's MaxRetries. A Retry-After hint beyond
// MaxBackoff ends the loop at once so that a fallback can take the request.
// It closes every response and returns nil when a read succeeded, or the
// error that ended the request.
func (s *Session) Resend(ctx context.Context, resp *Response, read func(*Response) *messages.Error,
	started func() bool, send func() (*Response, *messages.Error)) *messages.Error {
	pol := s.cfg.Retry
	for retry := 0; ; retry++ {
		err := read(resp)
		resp.Close()
		if err == nil {
			return nil
		}
		if started() || retry >= pol.MaxRetries || !RetryableBeforeFirst(err) || ctx.Err() != nil {
			return err
		}
		hint := err.RetryAfter()
		if hint > pol.MaxBackoff && !pol.IgnoreRetryAfter {
			return err // longer than this request may wait: let a fallback take it
		}
		select {
		case <-s.clock.After(s.Backoff(retry, hint)):
		case <-ctx.Done():
			return runners.AsError(context.Cause(ctx))
		}
		var serr *messages.Error
		if resp, serr = send(); serr != nil {
			return serr
		}
	}
}

// RetryableBeforeFirst reports whether a stream that failed before its
// first chunk reached the caller may be re-sent: the transient codes, and
// the timeouts of a response that stalled (first token, idle).
func RetryableBeforeFirst(e *messages.Error) bool {
	switch e.GetCode() {
	case runners.CodeServerError, runners.CodeNetwork, runners.CodeRateLimited:
		return true
	case runners.CodeTimeout:
		switch e.GetScope() {
		case "first_token", "idle", "network":
			return true
		}
	}
	return false
}

// retryable reports whether Do retries an attempt's error.
func retryable(e *messages.Error) bool {
	switch e.GetCode() {
	case runners.CodeRateLimited, runners.CodeServerError, runners.CodeNetwork:
		return true
	case runners.CodeTimeout:
		switch e.GetScope() {
		case "connect", "first_token", "network", "": // "" is a provider's 408
			return true
		}
	}
	return false
}

func (s *Session) timeoutError(scope, format string, args ...any) *messages.Error {
	return &messages.Error{Code: runners.CodeTimeout, Scope: scope, Provider: string(s.cfg.Provider),
		Message: string(s.cfg.Provider) + ": " + fmt.Sprintf(format, args...)}
}

// call is one logical request across its attempts.
type call struct {
	s      *Session
	parent context.Context
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time
	total  clock.Timer
}

func (c *call) release() {
	c.total.Stop()
	c.cancel(context.Canceled)
}

// remaining is the time the request may still use.
func (c *call) remaining() time.Duration {
	r := c.s.cfg.Timeouts.Total - c.s.clock.Now().Sub(c.start)
	if dl, ok := c.parent.Deadline(); ok {
		r = min(r, time.Until(dl))
	}
	return r
}

func (c *call) attempt(build BuildFunc) (*Response, *messages.Error) {
	s := c.s
	actx, acancel := context.WithCancelCause(c.ctx)
	req, err := build(actx)
	if err != nil {
		acancel(context.Canceled)
		return nil, &messages.Error{Code: runners.CodeInternal, Provider: string(s.cfg.Provider),
			Message: string(s.cfg.Provider) + ": building request: " + s.Sanitize(err.Error(), 200)}
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	w := &watch{s: s, ctx: actx, cancel: acancel}
	ft := s.cfg.Timeouts.FirstToken
	w.first = s.clock.AfterFunc(ft, func() {
		acancel(s.timeoutError("first_token", "no response within the first-token timeout of %s", ft))
	})
	resp, err := s.client.Do(req)
	if err != nil {
		w.stop()
		e := c.transportError(err, actx)
		acancel(context.Canceled)
		return nil, e
	}
	if s.onRL != nil {
		if fb := RateLimitFeedback(resp.StatusCode, resp.Header, s.clock.Now()); fb != nil {
			s.onRL(fb)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, truncated := ReadErrorBody(resp.Body)
		resp.Body.Close()
		w.stop()
		var e *messages.Error
		if cause := context.Cause(actx); cause != nil {
			e = c.ctxError(actx) // a timeout while reading the error body
		} else {
			e = s.table.FromResponse(resp.StatusCode, resp.Header, body, truncated, s.clock.Now(), s.key)
		}
		acancel(context.Canceled)
		return nil, e
	}
	w.body = resp.Body
	resp.Body = w
	return &Response{Response: resp, call: c, watch: w}, nil
}

// transportError types an error from http.Client.Do.
func (c *call) transportError(err error, actx context.Context) *messages.Error {
	s := c.s
	if e := c.ctxError(actx); e != nil && context.Cause(actx) != nil {
		return e
	}
	var cte *connectTimeoutError
	if errors.As(err, &cte) {
		return s.timeoutError("connect", "%s", cte.Error())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && strings.Contains(err.Error(), "TLS handshake timeout") {
		return s.timeoutError("connect", "TLS handshake timeout after %s", s.cfg.Timeouts.Connect)
	}
	return s.networkError(err)
}

func (s *Session) networkError(err error) *messages.Error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		u := ue.URL
		if pu, perr := url.Parse(u); perr == nil {
			pu.RawQuery, pu.User, pu.Fragment = "", nil, ""
			u = pu.String()
		}
		msg = ue.Op + " " + u + ": " + ue.Err.Error()
	}
	var ne net.Error
	code := runners.CodeNetwork
	scope := ""
	if errors.As(err, &ne) && ne.Timeout() {
		code, scope = runners.CodeTimeout, "network"
	}
	return &messages.Error{Code: code, Scope: scope, Provider: string(s.cfg.Provider),
		Message: string(s.cfg.Provider) + ": " + s.Sanitize(msg, 300)}
}

// ctxError types the end of a context: one of our timeouts, the caller's
// cancellation or deadline. actx nil means the call's own context. It
// returns nil when no context has ended.
func (c *call) ctxError(actx context.Context) *messages.Error {
	if actx == nil {
		actx = c.ctx
	}
	cause := context.Cause(actx)
	if cause == nil {
		return nil
	}
	var e *messages.Error
	if errors.As(cause, &e) {
		return copyError(e)
	}
	s := c.s
	switch {
	case errors.Is(c.parent.Err(), context.DeadlineExceeded):
		return s.timeoutError("deadline", "request deadline exceeded")
	case c.parent.Err() != nil:
		return &messages.Error{Code: runners.CodeCancelled, Provider: string(s.cfg.Provider),
			Message: string(s.cfg.Provider) + ": request cancelled"}
	}
	return &messages.Error{Code: runners.CodeCancelled, Provider: string(s.cfg.Provider),
		Message: string(s.cfg.Provider) + ": request aborted"}
}

// copyError returns a copy of e, so that callers may annotate it.
func copyError(e *messages.Error) *messages.Error {
	return &messages.Error{Code: e.Code, Message: e.Message, Provider: e.Provider, RetryAfterMs: e.RetryAfterMs,
		Scope: e.Scope, HttpStatus: e.HttpStatus, Deployment: e.Deployment, RequestId: e.RequestId}
}

// Response is a 2xx response whose body is under the first-token and idle
// timeouts. Close it when done (it stops the timers and releases the
// request); reading after Close fails.
type Response struct {
	*http.Response
	// Attempts is how many attempts the request took (1 = no retry).
	Attempts int
	call     *call
	watch    *watch
	once     sync.Once
}

// Close closes the body and releases the request's timers and context.
func (r *Response) Close() error {
	r.once.Do(func() {
		r.watch.body.Close()
		r.watch.stop()
		r.watch.cancel(context.Canceled)
		r.call.release()
	})
	return nil
}

// Started reports whether any byte of the body has been read.
func (r *Response) Started() bool { return r.watch.started.Load() }

// Err types an error met while reading the body (directly or through an
// SSEReader): a first-token, idle or total timeout, the caller's cancellation
// or deadline, a stream that ended early, an oversize SSE line, or a network
// failure. A *messages.Error passes through unchanged.
func (r *Response) Err(err error) *messages.Error {
	if err == nil {
		return nil
	}
	s := r.call.s
	if context.Cause(r.watch.ctx) != nil {
		if e := r.call.ctxError(r.watch.ctx); e != nil && !isPlainCancel(e, r.call.parent) {
			return e
		}
	}
	var e *messages.Error
	if errors.As(err, &e) {
		return e
	}
	if r.call.parent.Err() != nil {
		return r.call.ctxError(r.watch.ctx)
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &messages.Error{Code: runners.CodeNetwork, Provider: string(s.cfg.Provider),
			Message: string(s.cfg.Provider) + ": response ended before it was complete"}
	case errors.Is(err, ErrSSELineTooLong):
		return &messages.Error{Code: runners.CodeServerError, Provider: string(s.cfg.Provider),
			Message: fmt.Sprintf("%s: stream line longer than %d bytes", s.cfg.Provider, s.cfg.MaxSSELine)}
	}
	return s.networkError(err)
}

// isPlainCancel reports a cancellation that was ours (Close) rather than the
// caller's, so that Err reports the read error itself.
func isPlainCancel(e *messages.Error, parent context.Context) bool {
	return e.GetCode() == runners.CodeCancelled && parent.Err() == nil
}

// watch is a response body under the first-token and idle timers.
type watch struct {
	s      *Session
	ctx    context.Context
	cancel context.CancelCauseFunc
	body   io.ReadCloser

	started atomic.Bool
	last    atomic.Int64 // clock time of the last read, UnixNano

	mu      sync.Mutex
	first   clock.Timer
	idle    clock.Timer
	stopped bool
}

// Read reads the body, stopping the first-token timer at the first byte and
// arming the idle timer. A read that fails because a timer fired returns the
// typed timeout error.
func (w *watch) Read(p []byte) (int, error) {
	n, err := w.body.Read(p)
	if n > 0 {
		w.last.Store(w.s.clock.Now().UnixNano())
		if !w.started.Load() {
			w.started.Store(true)
			w.mu.Lock()
			if !w.stopped {
				w.first.Stop()
				w.idle = w.s.clock.AfterFunc(w.s.cfg.Timeouts.Idle, w.idleCheck)
			}
			w.mu.Unlock()
		}
	}
	if err != nil && err != io.EOF {
		var e *messages.Error
		if cause := context.Cause(w.ctx); errors.As(cause, &e) {
			return n, copyError(e)
		}
	}
	return n, err
}

// idleCheck fires Idle after the last read was armed: it cancels the request
// when no read has happened since, or re-arms for the remainder.
func (w *watch) idleCheck() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	idle := w.s.cfg.Timeouts.Idle
	since := w.s.clock.Now().Sub(time.Unix(0, w.last.Load()))
	if since >= idle {
		w.cancel(w.s.timeoutError("idle", "no data for the idle timeout of %s", idle))
		return
	}
	w.idle = w.s.clock.AfterFunc(idle-since, w.idleCheck)
}

func (w *watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.first.Stop()
	if w.idle != nil {
		w.idle.Stop()
	}
}

// Close closes the underlying body.
func (w *watch) Close() error { return w.body.Close() }
