package actors

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

var epoch = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// runLimiter drives l from now until until, calling Advance at every
// NextWake, and returns the permits granted and the denials in order.
func runLimiter(t *testing.T, l *Limiter, now, until time.Time) ([]Permit, []Denial, time.Time) {
	t.Helper()
	var granted []Permit
	var denied []Denial
	for i := 0; ; i++ {
		if i > 1e6 {
			t.Fatalf("runLimiter: no progress at %v", now)
		}
		g, d := l.Advance(now)
		granted = append(granted, g...)
		denied = append(denied, d...)
		w := l.NextWake(now)
		if w.IsZero() || w.After(until) {
			return granted, denied, now
		}
		if !w.After(now) && len(g) == 0 && len(d) == 0 {
			t.Fatalf("NextWake(%v) = %v, not after now with nothing to do", now, w)
		}
		now = w
	}
}

func mustRequest(t *testing.T, l *Limiter, now time.Time, id string, tokens int64, deadline time.Time) bool {
	t.Helper()
	granted, err := l.Request(now, id, tokens, deadline)
	if err != nil {
		t.Fatalf("Request(%q) error = %v, want nil", id, err)
	}
	return granted
}

func TestLimiterRPM60AdmitsExactly60PerMinute(t *testing.T) {
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 60})
	deadline := epoch.Add(time.Minute)
	var granted []Permit
	for i := range 200 {
		id := fmt.Sprintf("r%03d", i)
		if mustRequest(t, l, epoch, id, 0, deadline) {
			granted = append(granted, Permit{ID: id})
		}
	}
	if got := len(granted); got != 1 {
		t.Fatalf("immediate grants = %d, want 1 (burst of 1 at 60 RPM)", got)
	}
	g, denied, _ := runLimiter(t, l, epoch, epoch.Add(2*time.Minute))
	granted = append(granted, g...)
	if got := len(granted); got != 60 {
		t.Fatalf("grants in a minute = %d, want 60", got)
	}
	for i, p := range granted {
		if want := fmt.Sprintf("r%03d", i); p.ID != want {
			t.Fatalf("grant %d = %s, want %s (FIFO)", i, p.ID, want)
		}
		if want := time.Duration(i) * time.Second; p.Waited != want {
			t.Errorf("grant %d waited %v, want %v", i, p.Waited, want)
		}
	}
	if got := len(denied); got != 140 {
		t.Fatalf("denials = %d, want 140", got)
	}
	prev := time.Duration(0)
	for i, d := range denied {
		if want := fmt.Sprintf("r%03d", 60+i); d.ID != want {
			t.Fatalf("denial %d = %s, want %s", i, d.ID, want)
		}
		if !errors.Is(d.Err, runners.ErrRateLimited) || d.Err.GetScope() != ScopeRPM {
			t.Fatalf("denial %s error = %v, want rate_limited scope rpm", d.ID, d.Err)
		}
		ra := d.Err.RetryAfter()
		if ra <= 0 || ra < prev {
			t.Fatalf("denial %s retry-after = %v, want > 0 and >= %v (queue order)", d.ID, ra, prev)
		}
		prev = ra
	}
	// The first denied request would have been granted at its deadline, the
	// second one a second later.
	for i, want := range []time.Duration{time.Millisecond, time.Second, 2 * time.Second} {
		if got := denied[i].Err.RetryAfter(); got != want {
			t.Errorf("denial %d retry-after = %v, want %v", i, got, want)
		}
	}
	if s := l.State(epoch.Add(time.Minute)); s.GetGrantedTotal() != 60 || s.GetRejectedTotal() != 140 || s.GetWaiting() != 0 || s.GetInUse() != 60 {
		t.Errorf("State = %v, want 60 granted, 140 rejected, 0 waiting, 60 in use", s)
	}
}

func TestLimiterWindowBound(t *testing.T) {
	for _, rpm := range []float64{1, 59, 60, 61, 600, 10000} {
		t.Run(fmt.Sprint(rpm), func(t *testing.T) {
			l := NewLimiter(&runners.RateLimits{RequestsPerMinute: rpm})
			// Far more requests than a minute admits, all with a one-minute deadline.
			n := int(rpm)*2 + 10
			for i := range n {
				l.Request(epoch, fmt.Sprint(i), 0, epoch.Add(time.Minute))
			}
			runLimiter(t, l, epoch, epoch.Add(time.Minute))
			got := float64(l.State(epoch).GetGrantedTotal())
			bound := rpm + float64(burstFor(rpm))
			if got > bound || got < rpm {
				t.Errorf("grants in 60 s at %v RPM = %v, want in [%v, %v]", rpm, got, rpm, bound)
			}
		})
	}
}

func TestLimiterTPM(t *testing.T) {
	// 6000 TPM: a bucket of 100 tokens refilling at 100 tokens/s.
	lim := &runners.RateLimits{TokensPerMinute: 6000}
	t.Run("take and wait", func(t *testing.T) {
		l := NewLimiter(lim)
		if !mustRequest(t, l, epoch, "a", 50, time.Time{}) {
			t.Fatal("Request(a, 50) not granted, want granted")
		}
		if mustRequest(t, l, epoch, "b", 60, time.Time{}) {
			t.Fatal("Request(b, 60) granted with 50 left, want wait")
		}
		if got, want := l.NextWake(epoch), epoch.Add(100*time.Millisecond); !got.Equal(want) {
			t.Errorf("NextWake = %v, want %v", got.Sub(epoch), want.Sub(epoch))
		}
		if got := l.Blocker(epoch); got != ScopeTPM {
			t.Errorf("Blocker = %q, want tpm", got)
		}
		g, _ := l.Advance(epoch.Add(100 * time.Millisecond))
		if len(g) != 1 || g[0].ID != "b" || g[0].Tokens != 60 {
			t.Errorf("Advance(+100ms) = %v, want b with 60 tokens", g)
		}
	})
	t.Run("larger than the bucket carries debt", func(t *testing.T) {
		l := NewLimiter(lim)
		mustRequest(t, l, epoch, "a", 30, time.Time{})
		if mustRequest(t, l, epoch, "big", 350, time.Time{}) {
			t.Fatal("Request(big, 350) granted with 70 tokens, want wait for a full bucket")
		}
		// Full again after 0.3 s; then big takes 350 of 100 and owes 250.
		g, _, now := runLimiter(t, l, epoch, epoch.Add(time.Second))
		if len(g) != 1 || g[0].ID != "big" || !now.Equal(epoch.Add(300*time.Millisecond)) {
			t.Fatalf("big granted = %v at %v, want at +300ms", g, now.Sub(epoch))
		}
		if got := l.State(now).GetTpmAvailable(); got != -250 {
			t.Errorf("tokens after big = %v, want -250", got)
		}
		mustRequest(t, l, now, "small", 10, time.Time{})
		if got, want := l.NextWake(now), now.Add(2600*time.Millisecond); !got.Equal(want) {
			t.Errorf("NextWake after debt = +%v, want +%v", got.Sub(now), want.Sub(now))
		}
	})
	t.Run("FIFO: small waits behind big", func(t *testing.T) {
		l := NewLimiter(lim)
		mustRequest(t, l, epoch, "a", 90, time.Time{})
		mustRequest(t, l, epoch, "big", 100, time.Time{})
		if mustRequest(t, l, epoch, "small", 1, time.Time{}) {
			t.Fatal("Request(small) overtook big, want FIFO wait")
		}
		g, _ := l.Advance(epoch.Add(500 * time.Millisecond))
		if len(g) != 0 {
			t.Fatalf("Advance(+0.5s) = %v, want none (big needs 100)", g)
		}
		g, _ = l.Advance(epoch.Add(900 * time.Millisecond))
		if len(g) != 1 || g[0].ID != "big" {
			t.Fatalf("Advance(+0.9s) = %v, want big only", g)
		}
	})
	t.Run("settle", func(t *testing.T) {
		tests := []struct {
			name   string
			actual int64
			want   float64 // tokens left after release
		}{
			{"exact", 40, 60},
			{"less is not refunded", 10, 60},
			{"more is debt", 240, -140},
			{"unknown", -1, 60},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				l := NewLimiter(lim)
				mustRequest(t, l, epoch, "a", 40, time.Time{})
				if !l.Release(epoch, "a", tt.actual) {
					t.Fatal("Release(a) = false, want true")
				}
				if got := l.State(epoch).GetTpmAvailable(); got != tt.want {
					t.Errorf("Release(a, %d): tokens = %v, want %v", tt.actual, got, tt.want)
				}
				if l.Release(epoch, "a", tt.actual) {
					t.Error("second Release(a) = true, want false")
				}
			})
		}
	})
}

func TestLimiterConcurrency(t *testing.T) {
	l := NewLimiter(&runners.RateLimits{ConcurrentRequests: 2})
	for _, id := range []string{"a", "b"} {
		if !mustRequest(t, l, epoch, id, 0, time.Time{}) {
			t.Fatalf("Request(%s) not granted, want granted", id)
		}
	}
	if mustRequest(t, l, epoch, "c", 0, time.Time{}) {
		t.Fatal("Request(c) granted over the cap")
	}
	mustRequest(t, l, epoch, "d", 0, epoch.Add(5*time.Second))
	if got := l.Blocker(epoch); got != ScopeConcurrency {
		t.Errorf("Blocker = %q, want concurrency", got)
	}
	if got, want := l.NextWake(epoch), epoch.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("NextWake = %v, want d's deadline %v", got, want)
	}
	l.Release(epoch.Add(2*time.Second), "a", 0)
	g, _ := l.Advance(epoch.Add(2 * time.Second))
	if len(g) != 1 || g[0].ID != "c" {
		t.Fatalf("Advance after release = %v, want c", g)
	}
	_, d := l.Advance(epoch.Add(5 * time.Second))
	if len(d) != 1 || d[0].ID != "d" || d[0].Err.GetScope() != ScopeConcurrency {
		t.Fatalf("Advance at d's deadline = %v, want d denied with scope concurrency", d)
	}
	// Average hold so far: a held its slot for 2 s.
	if got, want := d[0].Err.RetryAfter(), 2*time.Second; got != want {
		t.Errorf("concurrency retry-after = %v, want %v (one average hold)", got, want)
	}
	if !l.Cancel("b") {
		t.Error("Cancel(b) of a held permit = false, want true")
	}
	if got := l.InUse(); got != 1 {
		t.Errorf("InUse after cancel = %d, want 1", got)
	}
}

func TestLimiterDeadlines(t *testing.T) {
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 60})
	mustRequest(t, l, epoch, "a", 0, time.Time{})
	t.Run("already passed", func(t *testing.T) {
		granted, err := l.Request(epoch, "late", 0, epoch)
		var e *messages.Error
		if granted || !errors.As(err, &e) || e.GetCode() != runners.CodeRateLimited || e.GetRetryAfterMs() <= 0 {
			t.Fatalf("Request(deadline now) = %v, %v, want rate_limited with retry-after", granted, err)
		}
		if l.Waiting() != 0 {
			t.Errorf("Waiting = %d, want 0", l.Waiting())
		}
	})
	t.Run("duplicate id", func(t *testing.T) {
		_, err := l.Request(epoch, "a", 0, time.Time{})
		if !errors.Is(err, &messages.Error{Code: runners.CodeBadRequest}) {
			t.Fatalf("Request(dup) error = %v, want bad_request", err)
		}
	})
	t.Run("earliest deadline wakes first", func(t *testing.T) {
		mustRequest(t, l, epoch, "x", 0, epoch.Add(10*time.Second))
		mustRequest(t, l, epoch, "y", 0, epoch.Add(300*time.Millisecond))
		if got, want := l.NextWake(epoch), epoch.Add(300*time.Millisecond); !got.Equal(want) {
			t.Fatalf("NextWake = %v, want y's deadline", got.Sub(epoch))
		}
		g, d := l.Advance(epoch.Add(300 * time.Millisecond))
		if len(g) != 0 || len(d) != 1 || d[0].ID != "y" {
			t.Fatalf("Advance(+300ms) = %v, %v, want y denied", g, d)
		}
		// y was second in line: two requests' worth of RPM away.
		if got, want := d[0].Err.RetryAfter(), 1700*time.Millisecond; got != want {
			t.Errorf("y retry-after = %v, want %v", got, want)
		}
		if !l.Cancel("x") || l.Waiting() != 0 || !l.NextWake(epoch).IsZero() {
			t.Errorf("after Cancel(x): waiting %d, NextWake %v, want 0 and zero", l.Waiting(), l.NextWake(epoch))
		}
		if l.Cancel("x") {
			t.Error("Cancel(x) twice = true, want false")
		}
	})
}

func TestLimiterPauseAndRecovery(t *testing.T) {
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 600, TokensPerMinute: 60000})
	l.Pause(epoch, 5*time.Second)
	s := l.State(epoch)
	if s.GetEffectiveRpm() != 300 || s.GetEffectiveTpm() != 30000 || s.GetPausedUntilUnixNano() != epoch.Add(5*time.Second).UnixNano() {
		t.Fatalf("State after 429 = %v, want rpm 300, tpm 30000, paused 5 s", s)
	}
	if mustRequest(t, l, epoch, "a", 1, time.Time{}) {
		t.Fatal("Request granted while paused")
	}
	if got := l.Blocker(epoch); got != ScopeRPM {
		t.Errorf("Blocker while paused = %q, want rpm", got)
	}
	if got, want := l.NextWake(epoch), epoch.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("NextWake while paused = %v, want end of pause", got.Sub(epoch))
	}
	if g, _ := l.Advance(epoch.Add(5 * time.Second)); len(g) != 1 {
		t.Fatalf("Advance at end of pause = %v, want a", g)
	}
	tests := []struct {
		after time.Duration // since the end of the pause
		want  float64
	}{
		{9 * time.Second, 300},
		{10 * time.Second, 360},
		{25 * time.Second, 420},
		{60 * time.Second, 600},
		{10 * time.Minute, 600},
	}
	for _, tt := range tests {
		if got := l.State(epoch.Add(5*time.Second + tt.after)).GetEffectiveRpm(); got != tt.want {
			t.Errorf("effective RPM %v after the pause = %v, want %v", tt.after, got, tt.want)
		}
	}
	now := epoch.Add(20 * time.Minute)
	for i, want := range []float64{300, 150, 75, 60, 60} {
		l.Pause(now, time.Second)
		if got := l.State(now).GetEffectiveRpm(); got != want {
			t.Errorf("effective RPM after 429 #%d = %v, want %v", i+1, got, want)
		}
	}
}

func TestLimiterFeedback(t *testing.T) {
	tests := []struct {
		name      string
		fb        *messages.RateLimitFeedback
		pause     time.Duration
		scope     string
		effective float64
	}{
		{"429", &messages.RateLimitFeedback{RetryAfterMs: 2000, RemainingRequests: -1, RemainingTokens: -1}, 2 * time.Second, ScopeRPM, 300},
		{"requests exhausted", &messages.RateLimitFeedback{RemainingRequests: 0, RequestsResetMs: 3000, RemainingTokens: -1}, 3 * time.Second, ScopeRPM, 600},
		{"tokens exhausted", &messages.RateLimitFeedback{RemainingRequests: 5, RemainingTokens: 0, TokensResetMs: 4000}, 4 * time.Second, ScopeTPM, 600},
		{"remaining", &messages.RateLimitFeedback{RemainingRequests: 5, RemainingTokens: 100, RequestsResetMs: 1000, TokensResetMs: 1000}, 0, "", 600},
		{"nil", nil, 0, "", 600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 600, TokensPerMinute: 60000})
			l.Feedback(epoch, tt.fb)
			s := l.State(epoch)
			var wantPause int64
			if tt.pause > 0 {
				wantPause = epoch.Add(tt.pause).UnixNano()
			}
			if s.GetPausedUntilUnixNano() != wantPause || s.GetEffectiveRpm() != tt.effective {
				t.Errorf("Feedback(%v): paused until %d, effective %v; want %d, %v", tt.fb, s.GetPausedUntilUnixNano(), s.GetEffectiveRpm(), wantPause, tt.effective)
			}
			mustRequest(t, l, epoch, "a", 1, time.Time{})
			if got := l.Blocker(epoch); got != tt.scope {
				t.Errorf("Blocker = %q, want %q", got, tt.scope)
			}
		})
	}
}

func TestLimiterUnlimited(t *testing.T) {
	for _, lim := range []*runners.RateLimits{nil, {}} {
		l := NewLimiter(lim)
		for i := range 1000 {
			if !mustRequest(t, l, epoch, fmt.Sprint(i), 1e9, epoch) {
				t.Fatalf("unlimited Request(%d) not granted", i)
			}
		}
		if s := l.State(epoch); s.GetInUse() != 1000 || s.GetRequestsPerMinute() != 0 {
			t.Errorf("State = %v, want 1000 in use, no limits", s)
		}
		if w := l.NextWake(epoch); !w.IsZero() {
			t.Errorf("NextWake = %v, want zero", w)
		}
	}
}

func BenchmarkLimiterAcquireRelease(b *testing.B) {
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 1e12, TokensPerMinute: 1e15, ConcurrentRequests: 1000})
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	now := epoch
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now = now.Add(time.Microsecond)
		id := ids[i&1023]
		if ok, err := l.Request(now, id, 500, time.Time{}); !ok || err != nil {
			b.Fatalf("Request = %v, %v", ok, err)
		}
		l.Release(now, id, 400)
	}
}

func ExampleLimiter() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 60})
	for _, id := range []string{"a", "b", "c"} {
		granted, _ := l.Request(start, id, 0, start.Add(1500*time.Millisecond))
		fmt.Println(id, "granted at once:", granted)
	}
	for now := start; l.Waiting() > 0; {
		now = l.NextWake(now)
		granted, denied := l.Advance(now)
		for _, p := range granted {
			fmt.Printf("%s granted after %v\n", p.ID, p.Waited)
		}
		for _, d := range denied {
			fmt.Printf("%s denied: %v\n", d.ID, d.Err)
		}
	}
	// Output:
	// a granted at once: true
	// b granted at once: false
	// c granted at once: false
	// b granted after 1s
	// c denied: rate_limited (scope rpm): no rpm capacity before the deadline (retry after 500ms)
}
