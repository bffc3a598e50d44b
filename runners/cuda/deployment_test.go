package cuda

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// recorder is a cuda runner that records the causes of its rebuilds.
type recorder struct {
	*Runner
	mu     sync.Mutex
	causes []runners.SessionRebuildCause
}

func (r *recorder) RebuildSession(ctx context.Context, c runners.SessionRebuildCause) error {
	r.mu.Lock()
	r.causes = append(r.causes, c)
	r.mu.Unlock()
	return r.Runner.RebuildSession(ctx, c)
}

func (r *recorder) rebuilds() []runners.SessionRebuildCause {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]runners.SessionRebuildCause(nil), r.causes...)
}

// deploy starts a Host with one deployment "gpu" on a cuda runner over a
// fake driver, with the shared stories260K model when present (a random
// model otherwise).
func deploy(t *testing.T) (*actors.Host, *recorder, *FakeDriver) {
	t.Helper()
	model, tok := writeRandomModel(t, shape{dim: 48, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 320, seqLen: 128}, 13)
	if dir := sharedDirOrEmpty(); dir != "" {
		model, tok = filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	}
	drv := NewFakeDriver()
	cr, err := New(drv, testPTX(t), Config{ModelPath: model, TokenizerPath: tok, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cr.Close() })
	rec := &recorder{Runner: cr}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(sys.Shutdown)
	h := actors.NewHost(sys, actors.HostOptions{})
	t.Cleanup(h.Close)
	spec := &actors.DeploymentSpec{
		Name: "gpu", Model: "gpu", Runtime: string(runners.RuntimeCUDA), Replicas: 1, Idempotent: true,
		NewRunner: func(int) (runners.ModelRunner, error) { return rec, nil },
	}
	if _, err := h.Spawn(spec); err != nil {
		t.Fatal(err)
	}
	return h, rec, drv
}

type outcome struct {
	text string
	last *messages.TokenChunk
	err  *messages.Error
}

func request(t *testing.T, h *actors.Host) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	temp := float32(0)
	s, err := h.Execute(ctx, &messages.ExecuteBatch{Model: "gpu", Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "Once upon a time a fox"}},
		Sampling: &messages.Sampling{Temperature: &temp, MaxTokens: 30}})
	if err != nil {
		return outcome{err: runners.AsError(err)}
	}
	defer s.Close()
	var o outcome
	var sb strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			o.err = runners.AsError(err)
			break
		}
		sb.WriteString(c.GetText())
		o.last = c
	}
	o.text = sb.String()
	return o
}

func replica(t *testing.T, h *actors.Host) *messages.ReplicaState {
	t.Helper()
	st, err := h.State(context.Background(), "gpu")
	if err != nil {
		t.Fatal(err)
	}
	return st.GetReplicas()[0]
}

// TestDeploymentRestartsPoisonedReplica: a trapping kernel poisons the
// context; the RunnerActor restarts, calls RebuildSession(cuda_context_
// poisoned) (a new context, module, weights and canary) and the request
// is retried once on the rebuilt session and succeeds.
func TestDeploymentRestartsPoisonedReplica(t *testing.T) {
	h, rec, drv := deploy(t)
	want := request(t, h)
	if want.err != nil || want.text == "" {
		t.Fatalf("first request = %+v", want)
	}
	rec.InjectTrap()
	got := request(t, h)
	if got.err != nil {
		t.Fatalf("request on a poisoned context = %v, want success after the rebuild", got.err)
	}
	if got.text != want.text || got.last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		t.Fatalf("retried request = %q (last %v), want %q", got.text, got.last, want.text)
	}
	if c := rec.rebuilds(); len(c) != 1 || c[0] != runners.CudaContextPoisoned {
		t.Fatalf("rebuilds = %v, want [cuda_context_poisoned]", c)
	}
	if created, destroyed := drv.Contexts(); created != 2 || destroyed != 1 {
		t.Fatalf("contexts created %d, destroyed %d; want 2, 1", created, destroyed)
	}
	rs := replica(t, h)
	if rs.GetRestarts() != 1 || rs.GetLastRebuildCause() != runners.CudaContextPoisoned.String() || !rs.GetHealthy() {
		t.Fatalf("replica = %v, want 1 restart by cuda_context_poisoned and healthy", rs)
	}
}

// TestDeploymentCanaryFailureMarksUnhealthy: when the canary fails after
// the rebuild, the replica is reported unhealthy and the request fails
// with a typed error.
func TestDeploymentCanaryFailureMarksUnhealthy(t *testing.T) {
	h, rec, drv := deploy(t)
	drv.CorruptCanary(true)
	rec.InjectTrap()
	got := request(t, h)
	if got.err == nil {
		t.Fatalf("request = %q, want an error (the replica's rebuild fails)", got.text)
	}
	if rs := replica(t, h); rs.GetHealthy() {
		t.Fatalf("replica = %v, want unhealthy after a failed canary", rs)
	}
	if c := rec.rebuilds(); len(c) == 0 || c[0] != runners.CudaContextPoisoned {
		t.Fatalf("rebuilds = %v, want cuda_context_poisoned first", c)
	}
}
