package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// guard bounds every wait of these tests; it is a failure deadline, never a
// pacing sleep.
const guard = 10 * time.Second

// sleepClock is a fake clock that reports every After (the backoff sleeps;
// timeouts use AfterFunc), so that tests advance exactly by the wait.
type sleepClock struct {
	*clock.Fake
	sleeps chan time.Duration
}

func (c *sleepClock) After(d time.Duration) <-chan time.Time {
	ch := c.Fake.After(d)
	c.sleeps <- d
	return ch
}

type fixture struct {
	t      *testing.T
	clk    *clock.Fake
	sleeps chan time.Duration
	srv    *httptest.Server
	sess   *Session
	hits   chan time.Time // fake time of each request
	fb     chan *messages.RateLimitFeedback
	n      atomic.Int32
	block  chan struct{} // closed at cleanup to release blocked handlers
}

// newFixture serves handler (given the 1-based request number) and builds a
// session with a fake clock; mod adjusts the config.
func newFixture(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request, f *fixture), mod func(*Config, *SessionOptions)) *fixture {
	t.Helper()
	f := &fixture{t: t, clk: clock.NewFake(now), sleeps: make(chan time.Duration, 100), hits: make(chan time.Time, 100), fb: make(chan *messages.RateLimitFeedback, 100), block: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.n.Add(1))
		f.hits <- f.clk.Now()
		handler(n, w, r, f)
	}))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.block) })
	cfg := Config{Provider: "test", Endpoint: f.srv.URL, Model: "m", APIKey: Secret{Inline: "sk-test-0123456789"}}
	opts := SessionOptions{Clock: &sleepClock{f.clk, f.sleeps}, OnRateLimit: func(fb *messages.RateLimitFeedback) { f.fb <- fb },
		Jitter: func(n time.Duration) time.Duration { return n }}
	if mod != nil {
		mod(&cfg, &opts)
	}
	s, err := NewSession(cfg, opts)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(s.CloseIdleConnections)
	f.sess = s
	return f
}

func (f *fixture) build(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/x", strings.NewReader(`{}`))
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+f.sess.Key())
	}
	return req, err
}

type doResult struct {
	resp *Response
	err  error
}

func (f *fixture) doAsync(ctx context.Context) chan doResult {
	ch := make(chan doResult, 1)
	go func() {
		r, err := f.sess.Do(ctx, f.build)
		if err != nil {
			ch <- doResult{nil, err} // keep a typed nil out of the interface
			return
		}
		ch <- doResult{r, nil}
	}()
	return ch
}

func (f *fixture) hit() time.Time {
	f.t.Helper()
	select {
	case at := <-f.hits:
		return at
	case <-time.After(guard):
		f.t.Fatal("no request reached the server")
	}
	return time.Time{}
}

// sleep waits for the session to start a backoff sleep, checks its
// length, and advances the clock past it.
func (f *fixture) sleep(want time.Duration) {
	f.t.Helper()
	select {
	case d := <-f.sleeps:
		if d != want {
			f.t.Errorf("backoff sleep = %v, want %v", d, want)
		}
		f.clk.Advance(d)
	case <-time.After(guard):
		f.t.Fatal("the session never slept")
	}
}

func (f *fixture) waitTimers(n int) {
	f.t.Helper()
	if !f.clk.WaitForTimers(n, time.After(guard)) {
		f.t.Fatalf("timers armed = %d, want %d", f.clk.Pending(), n)
	}
}

func (f *fixture) result(ch chan doResult) doResult {
	f.t.Helper()
	select {
	case r := <-ch:
		if r.resp != nil {
			f.t.Cleanup(func() { r.resp.Close() })
		}
		return r
	case <-time.After(guard):
		f.t.Fatal("Do did not return")
	}
	return doResult{}
}

func code(err error) runners.Code { return runners.AsError(err).GetCode() }

func TestDo429RetryAfterForms(t *testing.T) {
	tests := []struct {
		name string
		set  func(h http.Header)
	}{
		{"delta-seconds", func(h http.Header) { h.Set("Retry-After", "3") }},
		{"http-date", func(h http.Header) { h.Set("Retry-After", now.Add(3*time.Second).Format(http.TimeFormat)) }},
		{"retry-after-ms", func(h http.Header) { h.Set("retry-after-ms", "3000") }},
		{"x-ms-retry-after-ms", func(h http.Header) { h.Set("x-ms-retry-after-ms", "3000") }},
		{"openai reset", func(h http.Header) {
			h.Set("x-ratelimit-reset-requests", "3s")
			h.Set("x-ratelimit-remaining-requests", "0")
		}},
		{"anthropic reset", func(h http.Header) {
			h.Set("anthropic-ratelimit-requests-reset", now.Add(3*time.Second).Format(time.RFC3339))
			h.Set("anthropic-ratelimit-requests-remaining", "0")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
				if n == 1 {
					tt.set(w.Header())
					w.WriteHeader(429)
					io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
					return
				}
				io.WriteString(w, "ok")
			}, func(c *Config, o *SessionOptions) {
				o.Jitter = func(time.Duration) time.Duration { return 0 } // the hint alone decides
			})
			ch := f.doAsync(context.Background())
			t0 := f.hit()
			f.sleep(3 * time.Second)
			t1 := f.hit()
			if d := t1.Sub(t0); d != 3*time.Second {
				t.Errorf("waited %v between attempts, want 3s", d)
			}
			r := f.result(ch)
			if r.err != nil || r.resp.Attempts != 2 {
				t.Fatalf("Do = %v, %v; want success on attempt 2", r.resp, r.err)
			}
			b, _ := io.ReadAll(r.resp.Body)
			if string(b) != "ok" {
				t.Errorf("body = %q", b)
			}
			select {
			case fb := <-f.fb:
				if fb.GetRetryAfterMs() != 3000 {
					t.Errorf("feedback retry_after_ms = %d, want 3000", fb.GetRetryAfterMs())
				}
			default:
				t.Error("no rate-limit feedback for the 429")
			}
		})
	}
}

func TestDo503BurstThenSuccess(t *testing.T) {
	var caps []time.Duration
	var mu sync.Mutex
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
		if n <= 3 {
			w.WriteHeader(503)
			io.WriteString(w, `{"error":{"message":"The server is overloaded","type":"server_error"}}`)
			return
		}
		io.WriteString(w, "ok")
	}, func(c *Config, o *SessionOptions) {
		c.Retry = RetryPolicy{MaxRetries: 3, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second}
		o.Jitter = func(n time.Duration) time.Duration {
			mu.Lock()
			caps = append(caps, n)
			mu.Unlock()
			return n
		}
	})
	ch := f.doAsync(context.Background())
	prev := f.hit()
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		f.sleep(want)
		at := f.hit()
		if at.Sub(prev) != want {
			t.Errorf("backoff %d = %v, want %v", i, at.Sub(prev), want)
		}
		prev = at
	}
	r := f.result(ch)
	if r.err != nil || r.resp.Attempts != 4 {
		t.Fatalf("Do = %+v; want success after 4 attempts", r)
	}
	if len(caps) != 3 || caps[2] != 3*time.Second {
		t.Errorf("jitter caps = %v, want [1s 2s 3s]", caps)
	}
}

func TestDoGivesUp(t *testing.T) {
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
		w.WriteHeader(500)
		io.WriteString(w, `{"error":{"message":"boom","type":"server_error"}}`)
	}, func(c *Config, o *SessionOptions) { c.Retry.MaxRetries = 1 })
	ch := f.doAsync(context.Background())
	f.hit()
	f.sleep(time.Second)
	f.hit()
	r := f.result(ch)
	if code(r.err) != runners.CodeServerError || !strings.Contains(r.err.Error(), "after 2 attempts") {
		t.Fatalf("Do err = %v, want server_error after 2 attempts", r.err)
	}
}

func TestDoFailsFastWhenHintTooLong(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		total      time.Duration
	}{
		{"beyond max backoff", "120", 0},
		{"beyond total deadline", "20", 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(429)
				io.WriteString(w, `{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}`)
			}, func(c *Config, o *SessionOptions) { c.Timeouts.Total = tt.total })
			r := f.result(f.doAsync(context.Background()))
			e := runners.AsError(r.err)
			if want, _ := time.ParseDuration(tt.retryAfter + "s"); e.GetCode() != runners.CodeRateLimited || e.RetryAfter() != want {
				t.Fatalf("Do err = %v, want rate_limited with retry-after %ss", r.err, tt.retryAfter)
			}
			if got := f.n.Load(); got != 1 {
				t.Errorf("attempts = %d, want 1", got)
			}
			if !runners.Classify(r.err).Fallback {
				t.Error("a rate-limited error must be fallback-eligible")
			}
		})
	}
}

func TestDoDoesNotRetry(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		mod    func(*Config)
		want   runners.Code
	}{
		{"401 is a session fault", 401, `{"error":{"message":"Incorrect API key provided: sk-test-0123456789","type":"invalid_request_error","code":"invalid_api_key"}}`, nil, runners.CodeUnauthorized},
		{"400", 400, `{"error":{"message":"bad"}}`, nil, runners.CodeBadRequest},
		{"non-idempotent 503", 503, `{"error":{"message":"busy"}}`, func(c *Config) { c.NonIdempotent = true }, runners.CodeServerError},
		{"no retries 503", 503, `{"error":{"message":"busy"}}`, func(c *Config) { c.Retry.NoRetries = true }, runners.CodeServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}, func(c *Config, o *SessionOptions) {
				if tt.mod != nil {
					tt.mod(c)
				}
			})
			r := f.result(f.doAsync(context.Background()))
			if code(r.err) != tt.want || f.n.Load() != 1 {
				t.Fatalf("Do err = %v after %d attempts; want %v after 1", r.err, f.n.Load(), tt.want)
			}
			if strings.Contains(r.err.Error(), "sk-test-0123456789") {
				t.Errorf("error leaks the key: %v", r.err)
			}
		})
	}
	t.Run("401 classifies as RemoteAuthFailure", func(t *testing.T) {
		c := runners.Classify(&messages.Error{Code: runners.CodeUnauthorized})
		if !c.SessionFault || c.Cause != runners.RemoteAuthFailure {
			t.Fatalf("Classify(unauthorized) = %+v", c)
		}
	})
}

func TestTimeouts(t *testing.T) {
	t.Run("first token before headers", func(t *testing.T) {
		f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
			select {
			case <-f.block:
			case <-r.Context().Done():
			}
		}, func(c *Config, o *SessionOptions) { c.Retry.NoRetries = true; c.Timeouts.FirstToken = time.Minute })
		ch := f.doAsync(context.Background())
		f.hit()
		f.waitTimers(2) // total + first token
		f.clk.Advance(time.Minute)
		r := f.result(ch)
		e := runners.AsError(r.err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "first_token" {
			t.Fatalf("Do err = %v (scope %q), want timeout/first_token", r.err, e.GetScope())
		}
	})
	t.Run("first token after headers", func(t *testing.T) {
		f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			select {
			case <-f.block:
			case <-r.Context().Done():
			}
		}, func(c *Config, o *SessionOptions) { c.Timeouts.FirstToken = time.Minute })
		r := f.result(f.doAsync(context.Background()))
		if r.err != nil {
			t.Fatal(r.err)
		}
		errc := make(chan error, 1)
		go func() { _, err := NewSSEReader(r.resp.Body).Next(); errc <- err }()
		f.waitTimers(2)
		f.clk.Advance(time.Minute)
		err := <-errc
		e := r.resp.Err(err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "first_token" {
			t.Fatalf("read err = %v, want timeout/first_token", e)
		}
	})
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-f.block:
			case <-r.Context().Done():
			}
		}, func(c *Config, o *SessionOptions) { c.Timeouts.Idle = 5 * time.Second })
		r := f.result(f.doAsync(context.Background()))
		if r.err != nil {
			t.Fatal(r.err)
		}
		sr := NewSSEReader(r.resp.Body)
		if ev, err := sr.Next(); err != nil || string(ev.Data) != "one" {
			t.Fatalf("first event = %q, %v", ev.Data, err)
		}
		errc := make(chan error, 1)
		go func() { _, err := sr.Next(); errc <- err }()
		f.waitTimers(2) // total + idle
		f.clk.Advance(5 * time.Second)
		e := r.resp.Err(<-errc)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "idle" {
			t.Fatalf("read err = %v, want timeout/idle", e)
		}
	})
	t.Run("total is not retried", func(t *testing.T) {
		f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
			select {
			case <-f.block:
			case <-r.Context().Done():
			}
		}, func(c *Config, o *SessionOptions) { c.Timeouts.Total = 30 * time.Second })
		ch := f.doAsync(context.Background())
		f.hit()
		f.waitTimers(2)
		f.clk.Advance(30 * time.Second)
		r := f.result(ch)
		e := runners.AsError(r.err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "total" || f.n.Load() != 1 {
			t.Fatalf("Do err = %v after %d attempts, want timeout/total after 1", r.err, f.n.Load())
		}
	})
	t.Run("connect", func(t *testing.T) {
		f := newFixture(t, func(int, http.ResponseWriter, *http.Request, *fixture) {}, func(c *Config, o *SessionOptions) {
			c.Retry.NoRetries = true
			c.Timeouts.Connect = 20 * time.Millisecond // real time: the dialer's own deadline
			o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				<-ctx.Done() // an unreachable host
				return nil, ctx.Err()
			}
		})
		r := f.result(f.doAsync(context.Background()))
		e := runners.AsError(r.err)
		if e.GetCode() != runners.CodeTimeout || e.GetScope() != "connect" {
			t.Fatalf("Do err = %v (scope %q), want timeout/connect", r.err, e.GetScope())
		}
	})
	t.Run("caller cancel", func(t *testing.T) {
		f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-f.block:
			case <-r.Context().Done():
			}
		}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		r := f.result(f.doAsync(ctx))
		if r.err != nil {
			t.Fatal(r.err)
		}
		sr := NewSSEReader(r.resp.Body)
		sr.Next()
		cancel()
		_, err := sr.Next()
		if e := r.resp.Err(err); e.GetCode() != runners.CodeCancelled {
			t.Fatalf("read err after cancel = %v, want cancelled", e)
		}
	})
	t.Run("connection refused is network", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		s, err := NewSession(Config{Provider: "test", Endpoint: "http://" + addr, Model: "m"}, SessionOptions{Clock: clock.NewFake(now)})
		if err != nil {
			t.Fatal(err)
		}
		s.cfg.Retry.MaxRetries = 0
		_, err = s.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/?key=sk-querysecret123456", nil)
		})
		if code(err) != runners.CodeNetwork || strings.Contains(err.Error(), "querysecret") {
			t.Fatalf("err = %v, want network without the query", err)
		}
	})
}

func TestStreamCutIsNetworkError(t *testing.T) {
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}, nil)
	r := f.result(f.doAsync(context.Background()))
	if r.err != nil {
		t.Fatal(r.err)
	}
	sr := NewSSEReader(r.resp.Body)
	sr.Next()
	_, err := sr.Next()
	if e := r.resp.Err(err); e.GetCode() != runners.CodeNetwork {
		t.Fatalf("cut stream err = %v, want network", e)
	}
	if !r.resp.Started() {
		t.Error("Started() = false after a byte was read")
	}
}

func TestRateLimitSink(t *testing.T) {
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) {
		w.Header().Set("x-ratelimit-remaining-requests", "9")
		w.Header().Set("x-ratelimit-remaining-tokens", "900")
		io.WriteString(w, "ok")
	}, nil)
	f.result(f.doAsync(context.Background()))
	fb := <-f.fb
	if fb.GetRemainingRequests() != 9 || fb.GetRemainingTokens() != 900 {
		t.Fatalf("feedback = %v", fb)
	}
}

func TestExtraHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) { got <- r.Header.Clone() },
		func(c *Config, o *SessionOptions) { c.Headers = map[string]string{"X-Route": "blue"} })
	f.result(f.doAsync(context.Background()))
	if h := <-got; h.Get("X-Route") != "blue" {
		t.Fatalf("X-Route = %q", h.Get("X-Route"))
	}
}

func TestNewSessionErrors(t *testing.T) {
	t.Setenv("HTTPAPI_TEST_KEY", "")
	for name, cfg := range map[string]Config{
		"no endpoint":  {Model: "m"},
		"bad endpoint": {Endpoint: "ftp://x", Model: "m"},
		"userinfo":     {Endpoint: "https://u:p@x", Model: "m"},
		"no model":     {Endpoint: "https://x"},
		"two sources":  {Endpoint: "https://x", Model: "m", APIKey: Secret{FromEnv: "A", Inline: "b"}},
		"negative":     {Endpoint: "https://x", Model: "m", Timeouts: Timeouts{Idle: -1}},
		"backoff":      {Endpoint: "https://x", Model: "m", Retry: RetryPolicy{InitialBackoff: time.Hour}},
		"unset env":    {Endpoint: "https://x", Model: "m", APIKey: Secret{FromEnv: "HTTPAPI_TEST_KEY"}},
		"bad header":   {Endpoint: "https://x", Model: "m", Headers: map[string]string{"a b": "c"}},
		"bad price":    {Endpoint: "https://x", Model: "m", Pricing: &Price{Input: -1}},
	} {
		if _, err := NewSession(cfg, SessionOptions{}); err == nil {
			t.Errorf("%s: NewSession succeeded", name)
		}
	}
	if _, err := NewSession(Config{Provider: "openai", Endpoint: "https://x", Model: "m"}, SessionOptions{RequireKey: true}); err == nil {
		t.Error("RequireKey without a key: NewSession succeeded")
	}
}

func TestErrorsAreTyped(t *testing.T) {
	var e *messages.Error
	f := newFixture(t, func(n int, w http.ResponseWriter, r *http.Request, f *fixture) { w.WriteHeader(404) }, nil)
	r := f.result(f.doAsync(context.Background()))
	if !errors.As(r.err, &e) || e.GetProvider() != "test" || e.GetHttpStatus() != 404 {
		t.Fatalf("err = %#v", r.err)
	}
}

func TestRetryable(t *testing.T) {
	for _, tt := range []struct {
		e    *messages.Error
		want bool
	}{
		{&messages.Error{Code: runners.CodeRateLimited}, true},
		{&messages.Error{Code: runners.CodeServerError}, true},
		{&messages.Error{Code: runners.CodeNetwork}, true},
		{&messages.Error{Code: runners.CodeTimeout}, true}, // 408
		{&messages.Error{Code: runners.CodeTimeout, Scope: "connect"}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "first_token"}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "network"}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "total"}, false},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "deadline"}, false},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "idle"}, false},
		{&messages.Error{Code: runners.CodeUnauthorized}, false},
		{&messages.Error{Code: runners.CodeBadRequest}, false},
		{&messages.Error{Code: runners.CodeContentFiltered}, false},
		{&messages.Error{Code: runners.CodeBudgetExceeded}, false},
		{&messages.Error{Code: runners.CodeCancelled}, false},
	} {
		if got := retryable(tt.e); got != tt.want {
			t.Errorf("retryable(%v/%q) = %v, want %v", tt.e.GetCode().Slug(), tt.e.GetScope(), got, tt.want)
		}
	}
}

func TestHTTP2AndKeepAlive(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	s, err := NewSession(Config{Provider: "test", Endpoint: srv.URL, Model: "m"}, SessionOptions{TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.CloseIdleConnections()
	var reused []bool
	for range 2 {
		resp, err := s.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
			return http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "POST", srv.URL, strings.NewReader("{}"))
		})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Close()
		if string(b) != "HTTP/2.0" {
			t.Errorf("protocol = %q, want HTTP/2.0", b)
		}
	}
	if len(reused) != 2 || !reused[1] {
		t.Errorf("connection reuse = %v, want the second request on the first connection", reused)
	}
}
