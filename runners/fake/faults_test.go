package fake_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// outcome runs one request and describes how it ended: the error code at
// Execute ("execute:<code>"), in the stream ("recv:<code>"), or "ok".
func outcome(t *testing.T, r *fake.Runner) string {
	t.Helper()
	h, err := r.Execute(context.Background(), batch(true, 0, nil, user("a b c")))
	if err != nil {
		return "execute:" + runners.AsError(err).GetCode().Slug()
	}
	chunks, err := runners.ReadAll(h)
	if err != nil {
		return "recv:" + runners.AsError(err).GetCode().Slug()
	}
	if got := strings.Join(texts(chunks), ""); got != "a b c" {
		t.Fatalf("stream text = %q, want %q", got, "a b c")
	}
	return "ok"
}

func TestCallFaults(t *testing.T) {
	server := runners.Errorf(runners.CodeServerError, "boom")
	tests := []struct {
		name  string
		setup func(r *fake.Runner)
		want  []string // outcome of consecutive calls
	}{
		{"no fault", func(*fake.Runner) {}, []string{"ok", "ok"}},
		{"fail 2nd", func(r *fake.Runner) { r.FailNth(2, server) },
			[]string{"ok", "execute:server_error", "ok"}},
		{"fail from 2nd", func(r *fake.Runner) { r.FailFrom(2, server) },
			[]string{"ok", "execute:server_error", "execute:server_error"}},
		{"fail with untyped error", func(r *fake.Runner) { r.FailNth(1, errors.New("plain")) },
			[]string{"execute:internal", "ok"}},
		{"fail with nil error", func(r *fake.Runner) { r.FailNth(1, nil) },
			[]string{"execute:internal", "ok"}},
		{"fail at first recv", func(r *fake.Runner) { r.SetFaultStage(fake.AtFirstRecv); r.FailNth(1, server) },
			[]string{"recv:server_error", "ok"}},
		{"rate limit 2", func(r *fake.Runner) { r.RateLimitNext(2, time.Second) },
			[]string{"execute:rate_limited", "execute:rate_limited", "ok"}},
		{"rate limit at first recv", func(r *fake.Runner) { r.RateLimitNext(1, time.Second); r.SetFaultStage(fake.AtFirstRecv) },
			[]string{"recv:rate_limited", "ok"}},
		{"poison is sticky", func(r *fake.Runner) { r.PoisonContext() },
			[]string{"execute:cuda_context_poisoned", "execute:cuda_context_poisoned"}},
		{"poison at first recv", func(r *fake.Runner) { r.PoisonContext(); r.SetFaultStage(fake.AtFirstRecv) },
			[]string{"recv:cuda_context_poisoned", "recv:cuda_context_poisoned"}},
		{"auth is sticky", func(r *fake.Runner) { r.ExpireAuth() },
			[]string{"execute:unauthorized", "execute:unauthorized"}},
		{"poison wins over auth and rules", func(r *fake.Runner) { r.FailNth(1, server); r.ExpireAuth(); r.PoisonContext() },
			[]string{"execute:cuda_context_poisoned"}},
		{"rules win over rate limit, which waits", func(r *fake.Runner) { r.FailNth(1, server); r.RateLimitNext(1, time.Second) },
			[]string{"execute:server_error", "execute:rate_limited", "ok"}},
		{"heal clears all", func(r *fake.Runner) {
			r.FailFrom(1, server)
			r.RateLimitNext(5, time.Second)
			r.PoisonContext()
			r.ExpireAuth()
			r.CutAfter(1)
			r.Heal()
		}, []string{"ok", "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New()
			tt.setup(r)
			for i, want := range tt.want {
				if got := outcome(t, r); got != want {
					t.Errorf("call %d = %s, want %s", i+1, got, want)
				}
			}
			if r.Executes() != len(tt.want) {
				t.Errorf("Executes() = %d, want %d", r.Executes(), len(tt.want))
			}
			if r.Open() != 0 || r.InFlight() != 0 {
				t.Errorf("Open, InFlight = %d, %d, want 0, 0", r.Open(), r.InFlight())
			}
		})
	}
}

func TestFaultErrorsAreTyped(t *testing.T) {
	remote := fake.WithTransportKind(runners.TransportRemote(runners.ProviderAnthropic))
	injected := &messages.Error{Code: runners.CodeServerError, Message: "x"}
	tests := []struct {
		name  string
		opts  []fake.Option
		setup func(r *fake.Runner)
		want  *messages.Error
		class runners.Class
	}{
		{"rate limited", []fake.Option{remote}, func(r *fake.Runner) { r.RateLimitNext(1, 1500*time.Microsecond) },
			&messages.Error{Code: runners.CodeRateLimited, RetryAfterMs: 2, HttpStatus: 429, Provider: "anthropic", RequestId: "req-1"},
			runners.Class{Code: runners.CodeRateLimited, Retryable: true, Fallback: true}},
		{"unauthorized", []fake.Option{remote}, func(r *fake.Runner) { r.ExpireAuth() },
			&messages.Error{Code: runners.CodeUnauthorized, HttpStatus: 401, Provider: "anthropic", RequestId: "req-1"},
			runners.Class{Code: runners.CodeUnauthorized, Retryable: true, SessionFault: true, Cause: runners.RemoteAuthFailure}},
		{"poisoned", nil, func(r *fake.Runner) { r.PoisonContext() },
			&messages.Error{Code: runners.CodeCudaContextPoisoned, RequestId: "req-1"},
			runners.Class{Code: runners.CodeCudaContextPoisoned, Retryable: true, SessionFault: true, Cause: runners.CudaContextPoisoned}},
		{"injected copy", nil, func(r *fake.Runner) { r.FailNth(1, injected) },
			&messages.Error{Code: runners.CodeServerError, RequestId: "req-1"},
			runners.Class{Code: runners.CodeServerError, Retryable: true, Breaker: true, Fallback: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New(tt.opts...)
			tt.setup(r)
			_, err := r.Execute(context.Background(), batch(true, 0, nil, user("a")))
			var e *messages.Error
			if !errors.As(err, &e) {
				t.Fatalf("Execute error = %v (%T), want *messages.Error", err, err)
			}
			if e.Code != tt.want.Code || e.RetryAfterMs != tt.want.RetryAfterMs || e.HttpStatus != tt.want.HttpStatus ||
				e.Provider != tt.want.Provider || e.RequestId != tt.want.RequestId {
				t.Errorf("Execute error = %+v, want %+v", e, tt.want)
			}
			if got := runners.Classify(err); got != tt.class {
				t.Errorf("Classify(%v) = %+v, want %+v", err, got, tt.class)
			}
		})
	}
	if injected.RequestId != "" {
		t.Errorf("FailNth modified the caller's error: request id %q", injected.RequestId)
	}
}

func TestRebuildSession(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		fault   func(r *fake.Runner)
		cause   runners.SessionRebuildCause
		wantErr bool
		healed  bool
	}{
		{"poison, matching cause", (*fake.Runner).PoisonContext, runners.CudaContextPoisoned, false, true},
		{"poison, manual", (*fake.Runner).PoisonContext, runners.Manual, false, true},
		{"poison, auth cause", (*fake.Runner).PoisonContext, runners.RemoteAuthFailure, false, false},
		{"auth, matching cause", (*fake.Runner).ExpireAuth, runners.RemoteAuthFailure, false, true},
		{"auth, config change", (*fake.Runner).ExpireAuth, runners.RemoteConfigChange, false, true},
		{"auth, manual", (*fake.Runner).ExpireAuth, runners.Manual, false, true},
		{"auth, cuda cause", (*fake.Runner).ExpireAuth, runners.CudaContextPoisoned, false, false},
		{"unknown cause", (*fake.Runner).PoisonContext, runners.CauseUnknown, true, false},
		{"rebuild fails", func(r *fake.Runner) {
			r.PoisonContext()
			r.FailRebuild(runners.Errorf(runners.CodeInternal, "no device"))
		}, runners.CudaContextPoisoned, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New()
			tt.fault(r)
			err := r.RebuildSession(ctx, tt.cause)
			if (err != nil) != tt.wantErr {
				t.Fatalf("RebuildSession(%v) = %v, want error %v", tt.cause, err, tt.wantErr)
			}
			if err != nil && runners.AsError(err) == nil {
				t.Errorf("RebuildSession error %v is untyped", err)
			}
			if healed := outcome(t, r) == "ok"; healed != tt.healed {
				t.Errorf("healed after RebuildSession(%v) = %v, want %v", tt.cause, healed, tt.healed)
			}
			if r.Rebuilds(tt.cause) != 1 || len(r.RebuildCounts()) != 1 {
				t.Errorf("Rebuilds(%v), RebuildCounts() = %d, %v, want 1, one cause", tt.cause, r.Rebuilds(tt.cause), r.RebuildCounts())
			}
		})
	}
	t.Run("healthy again after FailRebuild(nil)", func(t *testing.T) {
		r := fake.New()
		r.PoisonContext()
		r.FailRebuild(errors.New("broken"))
		if err := r.RebuildSession(ctx, runners.CudaContextPoisoned); err == nil {
			t.Fatal("RebuildSession with FailRebuild = nil, want error")
		}
		r.FailRebuild(nil)
		if err := r.RebuildSession(ctx, runners.CudaContextPoisoned); err != nil || r.Poisoned() {
			t.Fatalf("RebuildSession = %v, Poisoned() = %v, want nil, false", err, r.Poisoned())
		}
		if got := r.RebuildCounts()[runners.CudaContextPoisoned]; got != 2 {
			t.Errorf("RebuildCounts()[cuda] = %d, want 2", got)
		}
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		r := fake.New()
		r.ExpireAuth()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := r.RebuildSession(cctx, runners.RemoteAuthFailure); runners.AsError(err).GetCode() != runners.CodeCancelled {
			t.Errorf("RebuildSession(cancelled) = %v, want cancelled", err)
		}
		if !r.AuthExpired() {
			t.Errorf("AuthExpired() after a cancelled rebuild = false, want true")
		}
	})
}

// readN reads n chunks and returns their text.
func readN(t *testing.T, h runners.RunHandle, n int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		res := await(t, recvAsync(h))
		if res.err != nil {
			t.Fatalf("Recv %d = %v, want a chunk", i, res.err)
		}
		if res.c.GetFinishReason() != 0 {
			t.Fatalf("Recv %d finish_reason = %v, want none", i, res.c.GetFinishReason())
		}
		b.WriteString(res.c.GetText())
	}
	return b.String()
}

func TestCut(t *testing.T) {
	tests := []struct {
		name     string
		stream   bool
		k        int
		err      error
		delayed  bool
		wantText string
		want     runners.Code
		after    bool
	}{
		{"after 2", true, 2, nil, false, "a b", runners.CodeNetwork, true},
		{"after 2, delayed", true, 2, nil, true, "a b", runners.CodeNetwork, true},
		{"after 0", true, 0, nil, false, "", runners.CodeNetwork, false},
		{"past the end", true, 9, nil, false, "a b c d", runners.CodeNetwork, true},
		{"custom error", true, 1, runners.Errorf(runners.CodeServerError, "502"), false, "a", runners.CodeServerError, true},
		{"unary", false, 2, nil, false, "", runners.CodeNetwork, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []fake.Option
			if tt.delayed {
				opts = append(opts, fake.WithTokenDelay(time.Nanosecond)) // real clock, tiny delay
			}
			r := fake.New(opts...)
			r.CutAfterWith(tt.k, tt.err)
			h, err := r.Execute(context.Background(), batch(tt.stream, 0, nil, user("a b c d")))
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := runners.ReadAll(h)
			e := runners.AsError(err)
			if e.GetCode() != tt.want || e.GetAfterFirstChunk() != tt.after {
				t.Fatalf("stream end = %v, want %v with after_first_chunk %v", err, tt.want, tt.after)
			}
			if got := strings.Join(texts(chunks), ""); got != tt.wantText {
				t.Errorf("text before cut = %q, want %q", got, tt.wantText)
			}
			for _, c := range chunks {
				if c.GetFinishReason() != 0 || c.GetUsage() != nil {
					t.Errorf("a cut stream sent a finish reason or usage: %v", c)
				}
			}
			if got := outcome(t, r); got != "ok" {
				t.Errorf("call after the cut = %s, want ok (the cut applies once)", got)
			}
		})
	}
}

func TestStall(t *testing.T) {
	tests := []struct {
		name    string
		k       int
		release bool // Release instead of cancel
		want    string
	}{
		{"stall, cancel", 0, false, ""},
		{"stall after 2, cancel", 2, false, "a b"},
		{"stall after 2, release", 2, true, "a b"},
		{"stall past the end holds the last chunk", 9, false, "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New()
			if tt.k == 0 {
				r.Stall()
			} else {
				r.StallAfter(tt.k)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h, err := r.Execute(ctx, batch(true, 0, nil, user("a b c d")))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if got := readN(t, h, min(tt.k, 3)); got != tt.want {
				t.Fatalf("text before the stall = %q, want %q", got, tt.want)
			}
			ch := recvAsync(h)
			select {
			case res := <-ch:
				t.Fatalf("stalled Recv returned %v, %v", res.c, res.err)
			default:
			}
			if tt.release {
				r.Release()
				res := await(t, ch)
				if res.err != nil || res.c.GetText() != " c" {
					t.Fatalf("Recv after Release = %v, %v, want \" c\"", res.c, res.err)
				}
				rest, err := runners.ReadAll(h)
				if err != nil || len(rest) != 1 || rest[0].GetFinishReason() == 0 {
					t.Fatalf("rest after Release = %v, %v, want the last chunk", rest, err)
				}
				return
			}
			cancel()
			if res := await(t, ch); runners.AsError(res.err).GetCode() != runners.CodeCancelled {
				t.Fatalf("Recv after cancel = %v, %v, want cancelled", res.c, res.err)
			}
			if !waitUntil(func() bool { return r.InFlight() == 0 }) {
				t.Errorf("InFlight() after cancel = %d, want 0", r.InFlight())
			}
		})
	}
	t.Run("streams after Release run freely", func(t *testing.T) {
		r := fake.New()
		r.Stall()
		r.Release()
		if got := outcome(t, r); got != "ok" {
			t.Errorf("outcome after Release = %s, want ok", got)
		}
	})
	t.Run("heal releases", func(t *testing.T) {
		r := fake.New()
		r.Stall()
		h, _ := r.Execute(context.Background(), batch(true, 0, nil, user("a b")))
		defer h.Close()
		ch := recvAsync(h)
		r.Heal()
		if res := await(t, ch); res.err != nil || res.c.GetText() != "a" {
			t.Errorf("Recv after Heal = %v, %v, want \"a\"", res.c, res.err)
		}
	})
}

func TestPoisonMidStream(t *testing.T) {
	for _, stalled := range []bool{false, true} {
		name := map[bool]string{false: "inline", true: "piped"}[stalled]
		t.Run(name, func(t *testing.T) {
			r := fake.New()
			if stalled {
				r.StallAfter(1)
			}
			h, err := r.Execute(context.Background(), batch(true, 0, nil, user("a b c")))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			readN(t, h, 1)
			r.PoisonContext()
			r.Release()
			res := await(t, recvAsync(h))
			if e := runners.AsError(res.err); e.GetCode() != runners.CodeCudaContextPoisoned || !e.GetAfterFirstChunk() {
				t.Fatalf("Recv after PoisonContext = %v, %v, want cuda_context_poisoned after first chunk", res.c, res.err)
			}
		})
	}
}

func TestObservers(t *testing.T) {
	r := fake.New()
	var mu sync.Mutex
	var calls []int
	r.OnExecute(func(call int, b *messages.ExecuteBatch) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call)
		if call == 2 {
			r.PoisonContext() // a hook may inject into the call it observes
		}
	})
	waited := make(chan bool)
	go func() { waited <- r.WaitExecutes(2, time.After(waitFor)) }()
	if got := outcome(t, r); got != "ok" {
		t.Errorf("call 1 = %s, want ok", got)
	}
	if got := outcome(t, r); got != "execute:cuda_context_poisoned" {
		t.Errorf("call 2 = %s, want poisoned by the hook", got)
	}
	if !<-waited {
		t.Errorf("WaitExecutes(2) = false, want true")
	}
	if r.WaitExecutes(3, closedTime()) {
		t.Errorf("WaitExecutes(3) with an expired deadline = true, want false")
	}
	r.OnExecute(nil)
	outcome(t, r)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[0] != 1 || calls[1] != 2 {
		t.Errorf("OnExecute calls = %v, want [1 2]", calls)
	}
}

func closedTime() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}

func TestOpenCountsUnclosedHandles(t *testing.T) {
	r := fake.New()
	h, err := r.Execute(context.Background(), batch(true, 0, nil, user("a")))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := h.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if r.InFlight() != 0 || r.Open() != 1 {
		t.Errorf("InFlight, Open after EOF without Close = %d, %d, want 0, 1", r.InFlight(), r.Open())
	}
	h.Close()
	if r.Open() != 0 {
		t.Errorf("Open() after Close = %d, want 0", r.Open())
	}
}

func TestConcurrentHooks(t *testing.T) {
	r := fake.New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				h, err := r.Execute(context.Background(), batch(j%2 == 0, 0, nil, user("a b c")))
				if err == nil {
					runners.ReadAll(h)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				switch j % 6 {
				case 0:
					r.PoisonContext()
				case 1:
					r.RebuildSession(context.Background(), runners.Manual)
				case 2:
					r.RateLimitNext(1, time.Second)
				case 3:
					r.CutAfter(1)
				case 4:
					r.ExpireAuth()
				case 5:
					r.Heal()
				}
				_ = r.Executes() + r.InFlight() + r.Open() + len(r.RebuildCounts())
			}
		}()
	}
	wg.Wait()
	if r.Executes() != 400 || r.Open() != 0 || r.InFlight() != 0 {
		t.Errorf("Executes, Open, InFlight = %d, %d, %d, want 400, 0, 0", r.Executes(), r.Open(), r.InFlight())
	}
}
