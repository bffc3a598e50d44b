package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

var errServer = &messages.Error{Code: runners.CodeServerError, Message: "502"}

func breakerPhaseAt(b *Breaker, now time.Time) string { return b.State(now).GetState() }

func TestBreakerTransitions(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureThreshold: 3, OpenDuration: 10 * time.Second, HalfOpenProbes: 2, MaxOpenDuration: 40 * time.Second})
	now := epoch
	fail := func() {
		t.Helper()
		if ok, _ := b.Allow(now); !ok {
			t.Fatalf("Allow at %v = false, want true", now.Sub(epoch))
		}
		b.Record(now, errServer, b.Probing())
	}
	fail()
	fail()
	b.Record(now, nil, false) // a success resets the count
	fail()
	fail()
	if got := breakerPhaseAt(b, now); got != "closed" {
		t.Fatalf("after 2 consecutive failures: %s, want closed", got)
	}
	fail()
	s := b.State(now)
	if s.GetState() != "open" || s.GetTrips() != 1 || s.GetOpenUntilUnixNano() != now.Add(10*time.Second).UnixNano() {
		t.Fatalf("after 3 failures: %v, want open for 10 s, 1 trip", s)
	}
	if ok, retry := b.Allow(now.Add(4 * time.Second)); ok || retry != 6*time.Second {
		t.Fatalf("Allow while open = %v, %v, want false, 6s", ok, retry)
	}

	// Each failed probe doubles the open time, up to the cap; a success
	// closes and resets it.
	for i, open := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second} {
		now = now.Add(open)
		if got := breakerPhaseAt(b, now); got != "half_open" {
			t.Fatalf("round %d: after %v open: %s, want half_open", i, open, got)
		}
		for p := range 2 {
			if ok, _ := b.Allow(now); !ok || !b.Probing() {
				t.Fatalf("round %d: probe %d Allow = %v, probing %v; want admitted probe", i, p, ok, b.Probing())
			}
		}
		if ok, retry := b.Allow(now); ok || retry != probeBusyRetry {
			t.Fatalf("round %d: third probe Allow = %v, %v; want false, %v", i, ok, retry, probeBusyRetry)
		}
		if got := b.State(now).GetProbesInFlight(); got != 2 {
			t.Errorf("probes in flight = %d, want 2", got)
		}
		if i == 3 {
			break
		}
		b.Record(now, errServer, true)
		next := min(2*open, 40*time.Second)
		if s := b.State(now); s.GetState() != "open" || s.GetOpenUntilUnixNano() != now.Add(next).UnixNano() {
			t.Fatalf("round %d: failed probe: %v, want open for %v", i, s, next)
		}
		b.Record(now, nil, true) // the other probe's late success is ignored while open
		if got := breakerPhaseAt(b, now); got != "open" {
			t.Fatalf("round %d: late probe success while open: %s, want open", i, got)
		}
	}
	b.Record(now, nil, true)
	if got := breakerPhaseAt(b, now); got != "closed" {
		t.Fatalf("probe success: %s, want closed", got)
	}
	b.Record(now, errServer, true) // the other probe, now a plain failure
	fail()
	fail()
	if s := b.State(now); s.GetState() != "open" || s.GetOpenUntilUnixNano() != now.Add(10*time.Second).UnixNano() {
		t.Fatalf("trip after recovery: %v, want open for the base 10 s", s)
	}
}

func TestBreakerProbeWithoutVerdict(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureThreshold: 1, OpenDuration: time.Second})
	b.Record(epoch, errServer, false)
	now := epoch.Add(time.Second)
	tests := []struct {
		name string
		end  func()
	}{
		{"uncounted error", func() { b.Record(now, runners.ErrRateLimited, true) }},
		{"cancelled", func() { b.CancelProbe() }},
		{"context canceled", func() { b.Record(now, context.Canceled, true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, _ := b.Allow(now); !ok || !b.Probing() {
				t.Fatalf("Allow = %v, probing %v; want a probe", ok, b.Probing())
			}
			if ok, _ := b.Allow(now); ok {
				t.Fatal("second probe admitted with HalfOpenProbes 1")
			}
			tt.end()
			if s := b.State(now); s.GetState() != "half_open" || s.GetProbesInFlight() != 0 {
				t.Fatalf("after %s: %v, want half_open with a free probe slot", tt.name, s)
			}
		})
	}
}

func TestBreakerCountsOnlyUpstreamFailures(t *testing.T) {
	counted := map[messages.ErrorCode]bool{
		runners.CodeServerError: true,
		runners.CodeTimeout:     true,
		runners.CodeNetwork:     true,
	}
	codes := make([]int, 0, len(messages.ErrorCode_name))
	for c := range messages.ErrorCode_name {
		codes = append(codes, int(c))
	}
	sort.Ints(codes)
	type tc struct {
		name string
		err  error
		want bool
	}
	var tests []tc
	for _, c := range codes {
		code := messages.ErrorCode(c)
		tests = append(tests, tc{code.Slug(), &messages.Error{Code: code}, counted[code]})
	}
	tests = append(tests,
		tc{"wrapped server error", fmt.Errorf("attempt 2: %w", errServer), true},
		tc{"context deadline", context.DeadlineExceeded, true},
		tc{"context canceled", context.Canceled, false},
		tc{"untyped", errors.New("boom"), false},
		tc{"session fault", &runners.SessionFault{Cause: runners.CudaContextPoisoned}, false},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker(BreakerConfig{FailureThreshold: 1})
			b.Allow(epoch)
			b.Record(epoch, tt.err, false)
			if got := breakerPhaseAt(b, epoch) == "open"; got != tt.want {
				t.Errorf("Record(%v) opened = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	t.Run("uncounted errors do not reset the count", func(t *testing.T) {
		b := NewBreaker(BreakerConfig{FailureThreshold: 2})
		b.Record(epoch, errServer, false)
		b.Record(epoch, runners.ErrRateLimited, false)
		b.Record(epoch, &messages.Error{Code: runners.CodeBadRequest}, false)
		if got := b.State(epoch).GetConsecutiveFailures(); got != 1 {
			t.Fatalf("consecutive failures = %d, want 1", got)
		}
		b.Record(epoch, errServer, false)
		if got := breakerPhaseAt(b, epoch); got != "open" {
			t.Errorf("second server error: %s, want open", got)
		}
	})
}

func TestBreakerForceOpen(t *testing.T) {
	b := NewBreaker(BreakerConfig{})
	b.ForceOpen(epoch, 5*time.Minute)
	s := b.State(epoch)
	if s.GetState() != "open" || s.GetOpenUntilUnixNano() != epoch.Add(5*time.Minute).UnixNano() || s.GetTrips() != 1 {
		t.Fatalf("ForceOpen(5m): %v, want open for 5 m", s)
	}
	if ok, retry := b.Allow(epoch.Add(time.Minute)); ok || retry != 4*time.Minute {
		t.Errorf("Allow after 1 m = %v, %v, want false, 4m", ok, retry)
	}
	b.Record(epoch, nil, false) // stale success: stays open
	if got := breakerPhaseAt(b, epoch.Add(5*time.Minute-1)); got != "open" {
		t.Errorf("just before the end: %s, want open", got)
	}
	if ok, _ := b.Allow(epoch.Add(5 * time.Minute)); !ok || !b.Probing() {
		t.Errorf("Allow at the end = %v, probing %v; want a probe", ok, b.Probing())
	}
	// A failed probe after a forced open re-opens for twice the configured 30 s.
	b.Record(epoch.Add(5*time.Minute), errServer, true)
	if got, want := b.State(epoch.Add(5*time.Minute)).GetOpenUntilUnixNano(), epoch.Add(6*time.Minute).UnixNano(); got != want {
		t.Errorf("open until = %v, want %v", time.Unix(0, got).Sub(epoch), 6*time.Minute)
	}
}

func TestBreakerDefaults(t *testing.T) {
	got := BreakerConfig{}.withDefaults()
	want := BreakerConfig{FailureThreshold: 10, OpenDuration: 30 * time.Second, HalfOpenProbes: 1, MaxOpenDuration: 300 * time.Second}
	if got != want {
		t.Errorf("BreakerConfig{}.withDefaults() = %+v, want %+v", got, want)
	}
	b := NewBreaker(BreakerConfig{})
	for i := range 9 {
		b.Record(epoch, errServer, false)
		if ok, _ := b.Allow(epoch); !ok {
			t.Fatalf("open after %d failures, want 10", i+1)
		}
	}
	b.Record(epoch, errServer, false)
	if ok, retry := b.Allow(epoch); ok || retry != 30*time.Second {
		t.Errorf("after 10 failures Allow = %v, %v; want false, 30s", ok, retry)
	}
}

func ExampleBreaker() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBreaker(BreakerConfig{FailureThreshold: 2, OpenDuration: 30 * time.Second})
	for range 2 {
		b.Allow(start)
		b.Record(start, &messages.Error{Code: runners.CodeServerError}, b.Probing())
	}
	ok, retry := b.Allow(start.Add(10 * time.Second))
	fmt.Println(ok, retry)
	ok, _ = b.Allow(start.Add(30 * time.Second))
	fmt.Println(ok, b.Probing())
	b.Record(start.Add(31*time.Second), nil, true)
	fmt.Println(b.State(start.Add(31 * time.Second)).GetState())
	// Output:
	// false 20s
	// true true
	// closed
}
