package actors

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// msgWaitLimit bounds every wait on an actor in these tests; a test that hits
// it has hung.
const msgWaitLimit = 10 * time.Second

// silentSystem returns an actor system that logs nothing, shut down at the
// end of the test.
func silentSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(sys.Shutdown)
	return sys
}

// spawnRecorder spawns an actor that forwards every user message it gets to
// the returned channel.
func spawnRecorder(t testing.TB, sys *actor.ActorSystem) (*actor.PID, chan any) {
	t.Helper()
	ch := make(chan any, 4096)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
			return
		}
		ch <- ctx.Message()
	}))
	return pid, ch
}

// recv returns the next message on ch, failing the test after msgWaitLimit.
func recvMsg(t testing.TB, ch chan any) any {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(msgWaitLimit):
		t.Fatal("no message within the wait limit")
		return nil
	}
}

// expectNone fails when ch holds a message after the actor at pid has
// processed everything sent to it before (a state query is the barrier).
func expectNoMsg(t testing.TB, sys *actor.ActorSystem, pid *actor.PID, ch chan any) {
	t.Helper()
	askState(t, sys, pid)
	select {
	case m := <-ch:
		t.Fatalf("unexpected message %T %v", m, m)
	default:
	}
}

// queryState asks the actor at pid for its state; it doubles as a barrier:
// everything sent to pid before has been processed when it returns.
func askState(t testing.TB, sys *actor.ActorSystem, pid *actor.PID) any {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, &messages.StateQuery{}, msgWaitLimit).Result()
	if err != nil {
		t.Fatalf("StateQuery: %v", err)
	}
	return res
}

func limiterState(t testing.TB, sys *actor.ActorSystem, pid *actor.PID) *messages.LimiterState {
	t.Helper()
	s, ok := askState(t, sys, pid).(*messages.LimiterState)
	if !ok {
		t.Fatalf("StateQuery answered %T, want *messages.LimiterState", s)
	}
	return s
}

func waitTimers(t testing.TB, clk *clock.Fake, n int) {
	t.Helper()
	if !clk.WaitForTimers(n, time.After(msgWaitLimit)) {
		t.Fatalf("WaitForTimers(%d): %d armed within the wait limit", n, clk.Pending())
	}
}

func TestRateLimiterActorRPM60(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(epoch)
	obs := &countingObserver{}
	pid := sys.Root.Spawn(NewRateLimiterProps(&runners.RateLimits{RequestsPerMinute: 60}, clk,
		WithLimiterName("gpt"), WithLimiterObserver(obs)))
	rec, ch := spawnRecorder(t, sys)
	deadline := epoch.Add(time.Minute).UnixNano()
	for i := range 200 {
		sys.Root.Send(pid, &messages.PermitRequest{RequestId: fmt.Sprintf("r%03d", i), Tokens: 10,
			DeadlineUnixNano: deadline, ReplyTo: FromActorPID(rec)})
	}
	if s := limiterState(t, sys, pid); s.GetWaiting() != 199 || s.GetInUse() != 1 {
		t.Fatalf("state after 200 requests = %v, want 199 waiting, 1 in use", s)
	}
	for i := range 60 {
		if i > 0 {
			waitTimers(t, clk, 1)
			clk.Advance(time.Second)
		}
		g, ok := recvMsg(t, ch).(*messages.PermitGrant)
		if want := fmt.Sprintf("r%03d", i); !ok || g.GetRequestId() != want || g.GetTokens() != 10 {
			t.Fatalf("message %d = %v, want PermitGrant %s with 10 tokens", i, g, want)
		}
	}
	expectNoMsg(t, sys, pid, ch)
	waitTimers(t, clk, 1)
	clk.Advance(time.Second) // the deadline
	for i := range 140 {
		d, ok := recvMsg(t, ch).(*messages.PermitDenied)
		if want := fmt.Sprintf("r%03d", 60+i); !ok || d.GetRequestId() != want {
			t.Fatalf("denial %d = %v, want PermitDenied %s", i, d, want)
		}
		e := d.GetError()
		if e.GetCode() != runners.CodeRateLimited || e.GetScope() != ScopeRPM || e.GetRetryAfterMs() <= 0 || e.GetDeployment() != "gpt" {
			t.Fatalf("denial %d error = %v, want rate_limited, scope rpm, retry-after, deployment gpt", i, e)
		}
	}
	s := limiterState(t, sys, pid)
	if s.GetGrantedTotal() != 60 || s.GetRejectedTotal() != 140 || s.GetWaiting() != 0 {
		t.Errorf("final state = %v, want 60 granted, 140 rejected", s)
	}
	if g, w, r := obs.grants.Load(), obs.waits.Load(), obs.rejects.Load(); g != 60 || w != 199 || r != 140 {
		t.Errorf("observer counts = %d grants, %d waits, %d rejects; want 60, 199, 140", g, w, r)
	}
	if clk.Pending() != 0 {
		t.Errorf("timers armed with nothing waiting = %d, want 0", clk.Pending())
	}
}

func TestRateLimiterActorProtocol(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(epoch)
	pid := sys.Root.Spawn(NewRateLimiterProps(&runners.RateLimits{RequestsPerMinute: 600, ConcurrentRequests: 1}, clk))
	rec, ch := spawnRecorder(t, sys)
	req := func(id string) {
		sys.Root.Send(pid, &messages.PermitRequest{RequestId: id, ReplyTo: FromActorPID(rec)})
	}

	// Without a reply-to the answer goes to the sender.
	res, err := sys.Root.RequestFuture(pid, &messages.PermitRequest{RequestId: "f"}, msgWaitLimit).Result()
	if g, ok := res.(*messages.PermitGrant); err != nil || !ok || g.GetRequestId() != "f" {
		t.Fatalf("RequestFuture(PermitRequest) = %v, %v, want PermitGrant f", res, err)
	}
	req("a") // waits for f's slot
	req("b")
	expectNoMsg(t, sys, pid, ch)
	sys.Root.Send(pid, &messages.PermitCancel{RequestId: "a"})
	sys.Root.Send(pid, &messages.PermitRelease{RequestId: "f", ActualTokens: 3})
	if g, ok := recvMsg(t, ch).(*messages.PermitGrant); !ok || g.GetRequestId() != "b" {
		t.Fatalf("after cancel(a) and release(f): %v, want PermitGrant b", g)
	}
	req("b")
	if d, ok := recvMsg(t, ch).(*messages.PermitDenied); !ok || d.GetError().GetCode() != runners.CodeBadRequest {
		t.Fatalf("duplicate request: %v, want PermitDenied bad_request", d)
	}

	// A 429 pauses grants for its retry-after.
	sys.Root.Send(pid, &messages.RateLimitFeedback{RetryAfterMs: 3000, RemainingRequests: -1, RemainingTokens: -1})
	sys.Root.Send(pid, &messages.PermitRelease{RequestId: "b", ActualTokens: -1})
	req("c")
	s := limiterState(t, sys, pid)
	if s.GetEffectiveRpm() != 300 || s.GetPausedUntilUnixNano() != epoch.Add(3*time.Second).UnixNano() || s.GetWaiting() != 1 {
		t.Fatalf("state after 429 = %v, want effective 300 RPM, paused 3 s, c waiting", s)
	}
	expectNoMsg(t, sys, pid, ch)
	waitTimers(t, clk, 1)
	clk.Advance(3 * time.Second)
	if g, ok := recvMsg(t, ch).(*messages.PermitGrant); !ok || g.GetRequestId() != "c" {
		t.Fatalf("after the pause: %v, want PermitGrant c", g)
	}

	// Stopping answers whoever still waits.
	req("d")
	limiterState(t, sys, pid)
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if d, ok := recvMsg(t, ch).(*messages.PermitDenied); !ok || d.GetRequestId() != "d" || d.GetError().GetCode() != runners.CodeInternal {
		t.Fatalf("on stop: %v, want PermitDenied d (internal)", d)
	}
}

func TestRateLimiterActorDeadlineWithoutRate(t *testing.T) {
	// Only a concurrency cap: the only timer is the waiter's deadline.
	sys := silentSystem(t)
	clk := clock.NewFake(epoch)
	pid := sys.Root.Spawn(NewRateLimiterProps(&runners.RateLimits{ConcurrentRequests: 1}, clk))
	rec, ch := spawnRecorder(t, sys)
	for _, id := range []string{"a", "b"} {
		sys.Root.Send(pid, &messages.PermitRequest{RequestId: id, ReplyTo: FromActorPID(rec),
			DeadlineUnixNano: epoch.Add(2 * time.Second).UnixNano()})
	}
	if g, ok := recvMsg(t, ch).(*messages.PermitGrant); !ok || g.GetRequestId() != "a" {
		t.Fatalf("first = %v, want PermitGrant a", g)
	}
	waitTimers(t, clk, 1)
	clk.Advance(2 * time.Second)
	d, ok := recvMsg(t, ch).(*messages.PermitDenied)
	if !ok || d.GetRequestId() != "b" || d.GetError().GetScope() != ScopeConcurrency || d.GetError().GetRetryAfterMs() <= 0 {
		t.Fatalf("at the deadline = %v, want PermitDenied b, scope concurrency, retry-after", d)
	}
}

func TestRateLimiterActorTPMDebt(t *testing.T) {
	// 6000 TPM: 100 tokens a second, a bucket of 100.
	sys := silentSystem(t)
	clk := clock.NewFake(epoch)
	pid := sys.Root.Spawn(NewRateLimiterProps(&runners.RateLimits{TokensPerMinute: 6000}, clk))
	rec, ch := spawnRecorder(t, sys)
	req := func(id string, tokens int64) {
		sys.Root.Send(pid, &messages.PermitRequest{RequestId: id, Tokens: tokens, ReplyTo: FromActorPID(rec)})
	}
	req("a", 100)
	if g, ok := recvMsg(t, ch).(*messages.PermitGrant); !ok || g.GetTokens() != 100 {
		t.Fatalf("first = %v, want PermitGrant a, 100 tokens", g)
	}
	// a used 300 tokens: 200 of debt, so b (10 tokens) waits 2.1 s.
	sys.Root.Send(pid, &messages.PermitRelease{RequestId: "a", ActualTokens: 300})
	req("b", 10)
	if s := limiterState(t, sys, pid); s.GetTpmAvailable() != -200 || s.GetWaiting() != 1 {
		t.Fatalf("state after release = %v, want -200 tokens, b waiting", s)
	}
	waitTimers(t, clk, 1)
	clk.Advance(2 * time.Second)
	expectNoMsg(t, sys, pid, ch)
	waitTimers(t, clk, 1)
	clk.Advance(100 * time.Millisecond)
	if g, ok := recvMsg(t, ch).(*messages.PermitGrant); !ok || g.GetRequestId() != "b" {
		t.Fatalf("after 2.1 s = %v, want PermitGrant b", g)
	}
}

type countingObserver struct{ grants, waits, rejects atomic.Int64 }

func (o *countingObserver) OnGrant(time.Duration) { o.grants.Add(1) }
func (o *countingObserver) OnWait(string)         { o.waits.Add(1) }
func (o *countingObserver) OnReject(string)       { o.rejects.Add(1) }

func BenchmarkRateLimiterActorRoundTrip(b *testing.B) {
	sys := silentSystem(b)
	pid := sys.Root.Spawn(NewRateLimiterProps(&runners.RateLimits{RequestsPerMinute: 1e12, TokensPerMinute: 1e15, ConcurrentRequests: 1000}, clock.Real{}))
	rec, ch := spawnRecorder(b, sys)
	replyTo := FromActorPID(rec)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := ids[i&1023]
		sys.Root.Send(pid, &messages.PermitRequest{RequestId: id, Tokens: 500, ReplyTo: replyTo})
		if _, ok := (<-ch).(*messages.PermitGrant); !ok {
			b.Fatal("no grant")
		}
		sys.Root.Send(pid, &messages.PermitRelease{RequestId: id, ActualTokens: 400})
	}
}
