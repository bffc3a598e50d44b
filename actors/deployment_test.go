package actors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

func quietSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	t.Cleanup(sys.Shutdown)
	return sys
}

// testHost spawns one deployment per spec, each on the given fake runners
// (one per replica).
func testHost(t testing.TB, specs ...*DeploymentSpec) *Host {
	t.Helper()
	h := NewHost(quietSystem(t), HostOptions{})
	t.Cleanup(h.Close)
	for _, s := range specs {
		if _, err := h.Spawn(s); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func fakeSpec(name string, rs ...*fake.Runner) *DeploymentSpec {
	return &DeploymentSpec{
		Name: name, Model: name, Runtime: "fake", Replicas: len(rs), Idempotent: true,
		NewRunner: func(i int) (runners.ModelRunner, error) { return rs[i], nil },
	}
}

func batch(model, prompt string) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{Model: model, Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}}}
}

type result struct {
	text   string
	chunks []*messages.TokenChunk
	last   *messages.TokenChunk
	err    *messages.Error
}

// run executes b and drains its stream, failing the test if it takes more
// than 10 s (a hang is a bug).
func run(t testing.TB, h *Host, b *messages.ExecuteBatch) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.Execute(ctx, b)
	if err != nil {
		return result{err: runners.AsError(err)}
	}
	return drain(t, s)
}

func drain(t testing.TB, s runners.RunHandle) result {
	t.Helper()
	defer s.Close()
	var r result
	var sb strings.Builder
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.err = runners.AsError(err)
			if r.err.GetCode() == runners.CodeTimeout && r.err.GetDeployment() == "" {
				t.Fatalf("request hung: %v", err)
			}
			break
		}
		sb.WriteString(c.GetText())
		r.chunks = append(r.chunks, c)
		r.last = c
	}
	r.text = sb.String()
	return r
}

func state(t testing.TB, h *Host, name string) *messages.DeploymentState {
	t.Helper()
	st, err := h.State(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDeploymentStreamsChunks(t *testing.T) {
	f := fake.New()
	h := testHost(t, fakeSpec("demo", f))
	want, err := runners.ReadAll(mustExec(t, fake.New(), batch("demo", "the quick brown fox")))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, h, batch("demo", "the quick brown fox"))
	if r.err != nil {
		t.Fatalf("Execute error = %v", r.err)
	}
	var wantText strings.Builder
	for _, c := range want {
		wantText.WriteString(c.GetText())
	}
	if r.text != wantText.String() || r.text == "" {
		t.Fatalf("text = %q, want %q", r.text, wantText.String())
	}
	if r.last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED || r.last.GetUsage() == nil {
		t.Fatalf("last chunk = %v, want finish reason and usage", r.last)
	}
	if r.chunks[0].GetDeployment() != "demo" || r.last.GetDeployment() != "demo" {
		t.Fatalf("deployment on first/last chunk = %q/%q, want demo", r.chunks[0].GetDeployment(), r.last.GetDeployment())
	}
	for i, c := range r.chunks {
		if c.GetSeq() != uint32(i+1) || c.GetRequestId() == "" {
			t.Fatalf("chunk %d seq = %d id = %q", i, c.GetSeq(), c.GetRequestId())
		}
	}
	// The outcome reaches the deployment after the last chunk reaches the
	// caller (two mailboxes): wait for it, with a deadline.
	if st := settled(t, h, "demo"); st.GetInFlight() != 0 || !st.GetHealthy() {
		t.Fatalf("state after = %v", st)
	}
}

// settled polls name's state until nothing is in flight or 10 s pass, and
// returns the last state read.
func settled(t testing.TB, h *Host, name string) *messages.DeploymentState {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		st := state(t, h, name)
		if st.GetInFlight() == 0 {
			return st
		}
		select {
		case <-deadline:
			return st
		default:
		}
	}
}

func mustExec(t testing.TB, r runners.ModelRunner, b *messages.ExecuteBatch) runners.RunHandle {
	t.Helper()
	hd, err := r.Execute(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return hd
}

func TestUnknownModel(t *testing.T) {
	h := testHost(t, fakeSpec("demo", fake.New()))
	_, err := h.Execute(context.Background(), batch("nope", "x"))
	if runners.AsError(err).GetCode() != runners.CodeNotFound {
		t.Fatalf("Execute(unknown) = %v, want not_found", err)
	}
}

// TestSessionFaultsRestartAndRetry drives each SessionRebuildCause through
// the actor tree: the first call fails with the fault, the replica actor is
// restarted, RebuildSession(cause) is called, and the request is retried on
// the rebuilt session and succeeds.
func TestSessionFaultsRestartAndRetry(t *testing.T) {
	for _, stage := range []fake.Stage{fake.AtExecute, fake.AtFirstRecv} {
		for _, tc := range []struct {
			cause  runners.SessionRebuildCause
			inject func(f *fake.Runner)
		}{
			{runners.CudaContextPoisoned, func(f *fake.Runner) { f.PoisonContext() }},
			{runners.RemoteAuthFailure, func(f *fake.Runner) { f.ExpireAuth() }},
			{runners.RemoteConfigChange, func(f *fake.Runner) {
				f.FailNth(1, &runners.SessionFault{Cause: runners.RemoteConfigChange, Err: errors.New("endpoint moved")})
			}},
			{runners.Manual, func(f *fake.Runner) {
				f.FailNth(1, &runners.SessionFault{Cause: runners.Manual, Err: errors.New("operator")})
			}},
		} {
			t.Run(tc.cause.String()+"/"+stage.String(), func(t *testing.T) {
				f := fake.New(fake.WithFaultStage(stage))
				tc.inject(f)
				h := testHost(t, fakeSpec("d", f))
				r := run(t, h, batch("d", "hello world"))
				if r.err != nil {
					t.Fatalf("request error = %v, want success after rebuild", r.err)
				}
				if r.text == "" || r.last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
					t.Fatalf("retried request = %q (last %v), want a complete answer", r.text, r.last)
				}
				if got := f.Rebuilds(tc.cause); got != 1 {
					t.Fatalf("Rebuilds(%v) = %d, want 1 (all: %v)", tc.cause, got, f.RebuildCounts())
				}
				if got := f.Executes(); got != 2 {
					t.Fatalf("Executes() = %d, want 2 (fault + retry)", got)
				}
				st := state(t, h, "d")
				rs := st.GetReplicas()[0]
				if rs.GetRestarts() != 1 || rs.GetLastRebuildCause() != tc.cause.String() || !rs.GetHealthy() {
					t.Fatalf("replica state = %v, want 1 restart by %v and healthy", rs, tc.cause)
				}
			})
		}
	}
}

func TestSessionFaultNotRetriedWhenNotIdempotent(t *testing.T) {
	f := fake.New()
	f.PoisonContext()
	spec := fakeSpec("d", f)
	spec.Idempotent = false
	h := testHost(t, spec)
	r := run(t, h, batch("d", "hi"))
	if r.err.GetCode() != runners.CodeCudaContextPoisoned {
		t.Fatalf("error = %v, want cuda_context_poisoned", r.err)
	}
	if f.Executes() != 1 {
		t.Fatalf("Executes() = %d, want 1 (no retry)", f.Executes())
	}
	// The replica was still rebuilt: the next request succeeds.
	if r := run(t, h, batch("d", "again")); r.err != nil {
		t.Fatalf("next request = %v, want success", r.err)
	}
	if f.Rebuilds(runners.CudaContextPoisoned) != 1 {
		t.Fatalf("Rebuilds = %v", f.RebuildCounts())
	}
}

func TestReplicaStopsAfterTooManyRestarts(t *testing.T) {
	f := fake.New()
	f.FailFrom(1, &runners.SessionFault{Cause: runners.RemoteConfigChange, Err: errors.New("broken")})
	spec := fakeSpec("d", f)
	spec.MaxRestarts = 2
	spec.Idempotent = false
	h := testHost(t, spec)
	var codes []runners.Code
	for i := 0; i < 5; i++ {
		r := run(t, h, batch("d", "x"))
		if r.err == nil {
			t.Fatalf("request %d succeeded on a broken runner", i)
		}
		codes = append(codes, r.err.GetCode())
	}
	st := state(t, h, "d")
	if st.GetHealthy() || st.GetReplicas()[0].GetHealthy() {
		t.Fatalf("state = %v, want replica unhealthy after exceeding restarts", st)
	}
	last := codes[len(codes)-1]
	if last != runners.CodeServerError {
		t.Fatalf("codes = %v, want the last to be server_error (no healthy replica)", codes)
	}
}

func TestRebuildFailureMarksReplicaUnhealthy(t *testing.T) {
	f := fake.New()
	f.PoisonContext()
	f.FailRebuild(errors.New("device lost"))
	h := testHost(t, fakeSpec("d", f))
	r := run(t, h, batch("d", "x"))
	if r.err == nil || r.err.GetCode() != runners.CodeServerError || r.err.GetScope() != "replica" {
		t.Fatalf("error = %v, want server_error scope replica", r.err)
	}
	if st := state(t, h, "d"); st.GetHealthy() {
		t.Fatalf("state healthy after failed rebuild: %v", st)
	}
}

func TestManualRebuildThroughHost(t *testing.T) {
	a, b := fake.New(), fake.New()
	h := testHost(t, fakeSpec("d", a, b))
	n, err := h.Rebuild(context.Background(), "d", runners.Manual)
	if err != nil || n != 2 {
		t.Fatalf("Rebuild = %d, %v; want 2 replicas", n, err)
	}
	// A request after the rebuild is served by a rebuilt replica.
	if r := run(t, h, batch("d", "x")); r.err != nil {
		t.Fatal(r.err)
	}
	deadline := time.After(10 * time.Second)
	for a.Rebuilds(runners.Manual)+b.Rebuilds(runners.Manual) < 2 {
		select {
		case <-deadline:
			t.Fatalf("rebuilds = %v / %v, want Manual on both", a.RebuildCounts(), b.RebuildCounts())
		default:
			state(t, h, "d") // a round trip through the deployment's mailbox
		}
	}
}

func TestStreamCutAfterFirstChunkIsInBand(t *testing.T) {
	f := fake.New()
	f.CutAfter(2)
	h := testHost(t, fakeSpec("d", f))
	r := run(t, h, batch("d", "one two three four five six"))
	if r.err == nil || !r.err.GetAfterFirstChunk() {
		t.Fatalf("error = %v, want in-band error after first chunk", r.err)
	}
	if len(r.chunks) != 2 {
		t.Fatalf("chunks before cut = %d, want 2", len(r.chunks))
	}
	if f.Executes() != 1 {
		t.Fatalf("Executes() = %d: a started stream must never be re-run", f.Executes())
	}
}

func TestCancelStopsTheRunner(t *testing.T) {
	f := fake.New()
	f.Stall()
	h := testHost(t, fakeSpec("d", f))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.Execute(ctx, batch("d", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !f.WaitExecutes(1, time.After(10*time.Second)) {
		t.Fatal("runner never called")
	}
	cancel()
	_, err = s.Recv()
	if runners.AsError(err).GetCode() != runners.CodeCancelled {
		t.Fatalf("Recv after cancel = %v, want cancelled", err)
	}
	s.Close()
	deadline := time.After(10 * time.Second)
	for f.InFlight() != 0 || state(t, h, "d").GetInFlight() != 0 {
		select {
		case <-deadline:
			t.Fatalf("runner in flight = %d, deployment in flight = %d after cancel", f.InFlight(), state(t, h, "d").GetInFlight())
		default:
		}
	}
}

func TestCapacityPolicies(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		f := fake.New()
		f.Stall()
		spec := fakeSpec("d", f)
		spec.MaxConcurrent, spec.OnCapacity = 1, CapacityReject
		h := testHost(t, spec)
		first, _ := h.Execute(context.Background(), batch("d", "a"))
		defer first.Close()
		f.WaitExecutes(1, time.After(10*time.Second))
		r := run(t, h, batch("d", "b"))
		if r.err.GetCode() != runners.CodeBackpressure || r.err.GetRetryAfterMs() <= 0 {
			t.Fatalf("second = %v, want backpressure with retry-after", r.err)
		}
	})
	t.Run("queue", func(t *testing.T) {
		f := fake.New()
		f.Stall()
		spec := fakeSpec("d", f)
		spec.MaxConcurrent = 1
		h := testHost(t, spec)
		first, _ := h.Execute(context.Background(), batch("d", "a"))
		f.WaitExecutes(1, time.After(10*time.Second))
		second, _ := h.Execute(context.Background(), batch("d", "b"))
		deadline := time.After(10 * time.Second)
		for state(t, h, "d").GetQueueDepth() != 1 {
			select {
			case <-deadline:
				t.Fatal("second request never queued")
			default:
			}
		}
		f.Release()
		if r := drain(t, first); r.err != nil {
			t.Fatal(r.err)
		}
		if r := drain(t, second); r.err != nil {
			t.Fatalf("queued request = %v, want success", r.err)
		}
		if f.Executes() != 2 {
			t.Fatalf("Executes = %d", f.Executes())
		}
	})
	t.Run("fallback", func(t *testing.T) {
		busy, spare := fake.New(), fake.New()
		busy.Stall()
		spec := fakeSpec("busy", busy)
		spec.MaxConcurrent, spec.OnCapacity, spec.Fallback = 1, CapacityFallback, []string{"spare"}
		h := testHost(t, spec, fakeSpec("spare", spare))
		first, _ := h.Execute(context.Background(), batch("busy", "a"))
		defer first.Close()
		busy.WaitExecutes(1, time.After(10*time.Second))
		r := run(t, h, batch("busy", "b"))
		if r.err != nil || r.last.GetDeployment() != "spare" {
			t.Fatalf("fallback = %v (deployment %q), want served by spare", r.err, r.last.GetDeployment())
		}
	})
}

func TestFallbackOnRateLimitBeforeFirstChunk(t *testing.T) {
	primary, backup := fake.New(), fake.New()
	primary.RateLimitNext(1, 30*time.Second)
	spec := fakeSpec("primary", primary)
	spec.Fallback = []string{"backup"}
	h := testHost(t, spec, fakeSpec("backup", backup))
	r := run(t, h, batch("primary", "x"))
	if r.err != nil || r.last.GetDeployment() != "backup" {
		t.Fatalf("result = %v via %q, want backup", r.err, r.last.GetDeployment())
	}
	// Without a fallback the caller sees the typed 429 with its hint.
	primary.RateLimitNext(1, 30*time.Second)
	h2 := testHost(t, fakeSpec("solo", primary))
	r = run(t, h2, batch("solo", "x"))
	if r.err.GetCode() != runners.CodeRateLimited || r.err.GetRetryAfterMs() != 30000 {
		t.Fatalf("solo = %v, want rate_limited retry 30s", r.err)
	}
}

func TestBreakerOpensOnServerErrors(t *testing.T) {
	f := fake.New()
	f.FailFrom(1, &messages.Error{Code: runners.CodeServerError, HttpStatus: 503, Message: "upstream down"})
	spec := fakeSpec("d", f)
	spec.Breaker = BreakerConfig{FailureThreshold: 2, OpenDuration: time.Minute, HalfOpenProbes: 1}
	h := testHost(t, spec)
	for i := 0; i < 2; i++ {
		if r := run(t, h, batch("d", "x")); r.err.GetCode() != runners.CodeServerError {
			t.Fatalf("call %d = %v, want server_error", i, r.err)
		}
	}
	r := run(t, h, batch("d", "x"))
	if r.err.GetCode() != runners.CodeCircuitOpen || r.err.GetRetryAfterMs() <= 0 {
		t.Fatalf("third call = %v, want circuit_open with retry-after", r.err)
	}
	if f.Executes() != 2 {
		t.Fatalf("Executes = %d: an open circuit must not reach the runner", f.Executes())
	}
	if st := state(t, h, "d"); st.GetBreaker().GetState() != "open" {
		t.Fatalf("breaker state = %v", st.GetBreaker())
	}
}

func TestForceOpen(t *testing.T) {
	f := fake.New()
	h := testHost(t, fakeSpec("d", f))
	if _, err := h.ForceOpen(context.Background(), "d", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	r := run(t, h, batch("d", "x"))
	if r.err.GetCode() != runners.CodeCircuitOpen {
		t.Fatalf("after force open = %v, want circuit_open", r.err)
	}
	if f.Executes() != 0 {
		t.Fatalf("Executes = %d", f.Executes())
	}
}

func TestBudgetRejectsThroughDeployment(t *testing.T) {
	// $1 per 1M input and output tokens: a request with max_tokens 1000 has
	// a worst case of about $0.001; a $0.0025/hour cap admits two.
	f := fake.New(fake.WithPrice(1000, 1000))
	spec := fakeSpec("d", f)
	spec.Budget = BudgetConfig{MaxSpendPerHour: 0.05, OnExceeded: OnExceededReject}
	h := testHost(t, spec)
	var denied *messages.Error
	for i := 0; i < 50 && denied == nil; i++ {
		b := batch("d", "a b c")
		b.Sampling = &messages.Sampling{MaxTokens: 10}
		denied = run(t, h, b).err
	}
	if denied.GetCode() != runners.CodeBudgetExceeded || denied.GetScope() != "hour" || denied.GetResetsAtUnixNano() == 0 {
		t.Fatalf("denial = %v, want budget_exceeded scope hour with reset time", denied)
	}
	st := state(t, h, "d")
	if st.GetBudget().GetSpentHourUsd() > 0.05+f.EstimateCostUSD(batch("d", "a b c")) {
		t.Fatalf("spent %v over cap", st.GetBudget().GetSpentHourUsd())
	}
}
