package actors

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// flakyPlacement spawns placed deployments in this system, but resolves
// the first lookup of each name to a PID on an unreachable node, as a
// cluster would right before it noticed the owner's death.
type flakyPlacement struct {
	system *actor.ActorSystem
	mu     sync.Mutex
	pids   map[string]*actor.PID
	calls  int
	forgot int
}

func (p *flakyPlacement) Place(spec *DeploymentSpec, props *actor.Props) error {
	pid, err := p.system.Root.SpawnNamed(props, "placed/"+spec.Name)
	p.mu.Lock()
	p.pids[spec.Name] = pid
	p.mu.Unlock()
	return err
}

func (p *flakyPlacement) Resolve(_ context.Context, name string) (*actor.PID, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.calls == 1 {
		return actor.NewPID("192.0.2.1:7400", "gone/"+name), nil
	}
	return p.pids[name], nil
}

func (p *flakyPlacement) Invalidate(string, *actor.PID) {
	p.mu.Lock()
	p.forgot++
	p.mu.Unlock()
}

func (p *flakyPlacement) Draining(string) bool { return false }

func (p *flakyPlacement) Cached(name string) *actor.PID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pids[name]
}

// A request whose owner turns out to be gone before the first chunk moves
// to the deployment's next activation (idempotent deployments).
func TestPlacedRequestMovesWhenOwnerIsGone(t *testing.T) {
	system := quietSystem(t)
	pl := &flakyPlacement{system: system, pids: map[string]*actor.PID{}}
	h := NewHost(system, HostOptions{Placement: pl})
	defer h.Close()
	if _, err := h.Spawn(&DeploymentSpec{Name: "echo", Runtime: "fake", Idempotent: true,
		NewRunner: func(int) (runners.ModelRunner, error) { return fake.New(), nil }}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.Execute(ctx, &messages.ExecuteBatch{Model: "echo",
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "moved along"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var text string
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv = %v; want the answer from the next activation", err)
		}
		text += c.GetText()
	}
	if text != "moved along" || pl.forgot != 1 || pl.calls != 2 {
		t.Errorf("answer %q after %d resolves, %d invalidations; want %q, 2, 1", text, pl.calls, pl.forgot, "moved along")
	}
}

// A stream whose target is on an unreachable node that does not know it
// ends with a typed owner error instead of waiting for its deadline.
func TestStreamRemoteTargetNotFound(t *testing.T) {
	system := quietSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := NewStream(ctx, system, actor.NewPID("192.0.2.1:7400", "deployment/x"), "r1")
	defer s.Close()
	_, err := s.Recv()
	var e *messages.Error
	if !errors.As(err, &e) || e.GetCode() != runners.CodeNetwork || e.GetScope() != ScopeOwner || e.GetRequestId() != "r1" {
		t.Fatalf("Recv = %v; want a network error with scope %q for r1", err, ScopeOwner)
	}
}

// Limiter.Empty leaves nothing to grant before the rate refills it.
func TestLimiterEmpty(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter(&runners.RateLimits{RequestsPerMinute: 600}) // 10/s, burst 10
	l.Empty(now)
	if ok, _ := l.Request(now, "a", 0, time.Time{}); ok {
		t.Fatal("Request right after Empty = granted; want it to wait")
	}
	granted, _ := l.Advance(now.Add(100 * time.Millisecond))
	if len(granted) != 1 {
		t.Fatalf("Advance(+100ms) granted %d; want 1 (one token at 10/s)", len(granted))
	}
}

// Budget.Restore carries a previous owner's spend, reservations included,
// into the same windows only, and never lowers spend.
func TestBudgetRestore(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 30, 0, 0, time.UTC)
	hourEnd := time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC).UnixNano()
	dayEnd := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		name         string
		snap         *messages.BudgetState
		wantH, wantD float64
	}{
		{"same windows", &messages.BudgetState{SpentHourUsd: 3, SpentDayUsd: 7, ReservedUsd: 1,
			HourResetsAtUnixNano: hourEnd, DayResetsAtUnixNano: dayEnd}, 4, 8},
		{"previous hour", &messages.BudgetState{SpentHourUsd: 3, SpentDayUsd: 7,
			HourResetsAtUnixNano: hourEnd - int64(time.Hour), DayResetsAtUnixNano: dayEnd}, 0, 7},
		{"nil", nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(BudgetConfig{MaxSpendPerHour: 10, MaxSpendPerDay: 100})
			b.Restore(now, tt.snap)
			st := b.State(now)
			if st.GetSpentHourUsd() != tt.wantH || st.GetSpentDayUsd() != tt.wantD {
				t.Errorf("Restore(%v): spent hour, day = %v, %v; want %v, %v", tt.snap, st.GetSpentHourUsd(), st.GetSpentDayUsd(), tt.wantH, tt.wantD)
			}
		})
	}
}

// Handoff bounces what the deployment has not admitted, and every new
// request, with scope moved; the running request finishes.
func TestHandoff(t *testing.T) {
	spec := fakeSpec("d", fake.New(fake.WithTokenDelay(20*time.Millisecond)))
	spec.MaxConcurrent = 1
	h := testHost(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	running, err := h.Execute(ctx, batch("d", "one two three four five six seven eight"))
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	if _, err := running.Recv(); err != nil {
		t.Fatalf("first chunk of the running request: %v", err)
	}
	queued, err := h.Execute(ctx, batch("d", "queued"))
	if err != nil {
		t.Fatal(err)
	}
	defer queued.Close()
	pid := h.Directory().Lookup("d")
	h.System().Root.Send(pid, &Handoff{})
	later, err := h.Execute(ctx, batch("d", "later"))
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	for name, s := range map[string]runners.RunHandle{"queued": queued, "later": later} {
		_, err := s.Recv()
		var e *messages.Error
		if !errors.As(err, &e) || e.GetScope() != ScopeMoved || e.GetCode() != runners.CodeNetwork {
			t.Errorf("%s request after Handoff: Recv = %v; want a network error with scope %q", name, err, ScopeMoved)
		}
	}
	for {
		_, err := running.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("running request after Handoff: %v; want it to finish", err)
		}
	}
}
