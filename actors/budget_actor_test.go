package actors

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// spawnUnderParent spawns props as the child of a parent actor that
// forwards every message it gets from the child to the returned channel.
func spawnUnderParent(t testing.TB, sys *actor.ActorSystem, props *actor.Props) (*actor.PID, chan any) {
	t.Helper()
	toParent := make(chan any, 64)
	childPID := make(chan *actor.PID, 1)
	sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			childPID <- ctx.Spawn(props)
		case *actor.Stopping, *actor.Stopped, *actor.Restarting, *actor.Terminated:
		default:
			toParent <- ctx.Message()
		}
	}))
	select {
	case pid := <-childPID:
		return pid, toParent
	case <-time.After(msgWaitLimit):
		t.Fatal("child not spawned")
		return nil, nil
	}
}

func budgetState(t testing.TB, sys *actor.ActorSystem, pid *actor.PID) *messages.BudgetState {
	t.Helper()
	s, ok := askState(t, sys, pid).(*messages.BudgetState)
	if !ok {
		t.Fatalf("StateQuery answered %T, want *messages.BudgetState", s)
	}
	return s
}

func TestBudgetActorConcurrentReservations(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(budgetEpoch)
	pid := sys.Root.Spawn(NewBudgetProps(BudgetConfig{MaxSpendPerHour: 1}, clk, WithBudgetName("gpt")))
	rec, ch := spawnRecorder(t, sys)
	replyTo := FromActorPID(rec)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			sys.Root.Send(pid, &messages.BudgetReserve{RequestId: fmt.Sprint(i), AmountUsd: 0.05, ReplyTo: replyTo})
		})
	}
	r := rand.New(rand.NewPCG(3, 4))
	settled, admitted := 0.0, 0
	for range 100 {
		switch m := recvMsg(t, ch).(type) {
		case *messages.BudgetReserved:
			admitted++
			actual := 0.05 * r.Float64()
			settled += actual
			sys.Root.Send(pid, &messages.BudgetSettle{RequestId: m.GetRequestId(), ActualUsd: actual})
		case *messages.BudgetDenied:
			e := m.GetError()
			if e.GetCode() != runners.CodeBudgetExceeded || e.GetScope() != ScopeHour || e.GetDeployment() != "gpt" ||
				e.GetResetsAtUnixNano() != time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC).UnixNano() || e.GetRetryAfterMs() <= 0 {
				t.Fatalf("denial = %v, want budget_exceeded, scope hour, deployment gpt, resets 10:00", e)
			}
		default:
			t.Fatalf("reply %T, want BudgetReserved or BudgetDenied", m)
		}
	}
	wg.Wait()
	s := budgetState(t, sys, pid)
	if s.GetSpentHourUsd() > 1.05 || settled > 1.05 {
		t.Errorf("settled = $%v (actor says $%v), want <= $1.05", settled, s.GetSpentHourUsd())
	}
	if admitted < 20 || s.GetRejectedTotal() != int64(100-admitted) || s.GetReservedUsd() != 0 {
		t.Errorf("admitted %d, state %v; want >= 20 admitted, the rest rejected, nothing reserved", admitted, s)
	}
}

func TestBudgetActorThrottle(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(budgetEpoch)
	obs := &budgetCounter{}
	pid, toParent := spawnUnderParent(t, sys, NewBudgetProps(
		BudgetConfig{MaxSpendPerHour: 0.1, OnExceeded: OnExceededThrottle}, clk, WithBudgetObserver(obs)))

	// Without reply_to, the answer goes to the sender.
	res, err := sys.Root.RequestFuture(pid, &messages.BudgetReserve{RequestId: "a", AmountUsd: 0.1}, msgWaitLimit).Result()
	if m, ok := res.(*messages.BudgetReserved); err != nil || !ok || m.GetAmountUsd() != 0.1 {
		t.Fatalf("Reserve(a) = %v, %v, want BudgetReserved $0.10", res, err)
	}
	res, err = sys.Root.RequestFuture(pid, &messages.BudgetReserve{RequestId: "b", AmountUsd: 0.01}, msgWaitLimit).Result()
	if m, ok := res.(*messages.BudgetDenied); err != nil || !ok || m.GetError().GetScope() != ScopeHour {
		t.Fatalf("Reserve(b) over the cap = %v, %v, want BudgetDenied scope hour", res, err)
	}
	reset := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	th, ok := recvMsg(t, toParent).(*messages.Throttle)
	if !ok || th.GetFactor() != 0.5 || th.GetUntilUnixNano() != reset.UnixNano() {
		t.Fatalf("parent got %v, want Throttle 0.5 until 10:00", th)
	}
	if !budgetState(t, sys, pid).GetThrottled() {
		t.Error("state not throttled")
	}
	// Further rejections in the same window do not repeat the message.
	sys.Root.Send(pid, &messages.BudgetReserve{RequestId: "c", AmountUsd: 0.01})
	sys.Root.Send(pid, &messages.BudgetSettle{RequestId: "a", ActualUsd: 0.08})
	expectNoMsg(t, sys, pid, toParent)

	waitTimers(t, clk, 1)
	clk.Set(reset)
	th, ok = recvMsg(t, toParent).(*messages.Throttle)
	if !ok || th.GetFactor() != 1 {
		t.Fatalf("parent got %v at the reset, want Throttle 1", th)
	}
	if s := budgetState(t, sys, pid); s.GetThrottled() || s.GetSpentHourUsd() != 0 {
		t.Errorf("state after the reset = %v, want not throttled, nothing spent", s)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.rejects != 2 || len(obs.throttles) != 2 || obs.throttles[0] != 0.5 || obs.throttles[1] != 1 || obs.settles != 1 {
		t.Errorf("observer = %+v, want 2 rejects, throttles [0.5 1], 1 settle", obs)
	}
}

func TestBudgetActorWarnAndFree(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(budgetEpoch)
	var logs lockedBuffer
	obs := &budgetCounter{}
	pid := sys.Root.Spawn(NewBudgetProps(BudgetConfig{MaxSpendPerHour: 0.1, OnExceeded: OnExceededWarn}, clk,
		WithBudgetLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithBudgetObserver(obs), WithBudgetName("claude")))
	rec, ch := spawnRecorder(t, sys)
	tests := []struct {
		id     string
		usd    float64
		warned bool
	}{
		{"a", 0.1, false},
		{"b", 0.05, true},
		{"free", 0, false},
	}
	for _, tt := range tests {
		sys.Root.Send(pid, &messages.BudgetReserve{RequestId: tt.id, AmountUsd: tt.usd, ReplyTo: FromActorPID(rec)})
		m, ok := recvMsg(t, ch).(*messages.BudgetReserved)
		if !ok || m.GetRequestId() != tt.id || m.GetWarned() != tt.warned {
			t.Fatalf("Reserve(%s, $%v) = %v, want BudgetReserved warned=%v", tt.id, tt.usd, m, tt.warned)
		}
	}
	budgetState(t, sys, pid)
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "deployment=claude") || !strings.Contains(out, "scope=hour") {
		t.Errorf("log = %q, want a warning naming the deployment and scope", out)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.warns != 1 {
		t.Errorf("observer warns = %d, want 1", obs.warns)
	}
}

type budgetCounter struct {
	mu                      sync.Mutex
	rejects, warns, settles int
	throttles               []float64
}

func (c *budgetCounter) OnReject(string) { c.mu.Lock(); c.rejects++; c.mu.Unlock() }
func (c *budgetCounter) OnWarn(string)   { c.mu.Lock(); c.warns++; c.mu.Unlock() }
func (c *budgetCounter) OnSettle(float64) {
	c.mu.Lock()
	c.settles++
	c.mu.Unlock()
}
func (c *budgetCounter) OnThrottle(f float64) {
	c.mu.Lock()
	c.throttles = append(c.throttles, f)
	c.mu.Unlock()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func BenchmarkBudgetActorRoundTrip(b *testing.B) {
	sys := silentSystem(b)
	pid := sys.Root.Spawn(NewBudgetProps(BudgetConfig{MaxSpendPerHour: 1e12}, clock.Real{}))
	rec, ch := spawnRecorder(b, sys)
	replyTo := FromActorPID(rec)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := ids[i&1023]
		sys.Root.Send(pid, &messages.BudgetReserve{RequestId: id, AmountUsd: 0.05, ReplyTo: replyTo})
		if _, ok := (<-ch).(*messages.BudgetReserved); !ok {
			b.Fatal("not reserved")
		}
		sys.Root.Send(pid, &messages.BudgetSettle{RequestId: id, ActualUsd: 0.03})
	}
}

func TestBudgetActorStopLiftsThrottle(t *testing.T) {
	sys := silentSystem(t)
	clk := clock.NewFake(budgetEpoch)
	pid, toParent := spawnUnderParent(t, sys, NewBudgetProps(
		BudgetConfig{MaxSpendPerDay: 0.1, OnExceeded: OnExceededThrottle}, clk))
	sys.Root.Send(pid, &messages.BudgetReserve{RequestId: "a", AmountUsd: 0.2})
	th, ok := recvMsg(t, toParent).(*messages.Throttle)
	if want := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC).UnixNano(); !ok || th.GetFactor() != 0.5 || th.GetUntilUnixNano() != want {
		t.Fatalf("parent got %v, want Throttle 0.5 until midnight UTC", th)
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if th, ok := recvMsg(t, toParent).(*messages.Throttle); !ok || th.GetFactor() != 1 {
		t.Fatalf("parent got %v on stop, want Throttle 1", th)
	}
}
