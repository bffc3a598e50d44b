package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// script answers one Execute of the test backend.
type script func(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error)

// testBackend is an in-memory Backend: each model name runs a script, and
// the admin calls are recorded.
type testBackend struct {
	mu        sync.Mutex
	scripts   map[string]script
	models    []ModelInfo
	states    []*messages.DeploymentState
	statesErr error
	batches   []*messages.ExecuteBatch
	rebuilt   []string
	forced    map[string]time.Duration
}

func newTestBackend() *testBackend {
	return &testBackend{scripts: map[string]script{}, forced: map[string]time.Duration{}}
}

// on makes model callable, answered by s.
func (t *testBackend) on(model string, s script) *testBackend {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scripts[model] = s
	t.models = append(t.models, ModelInfo{ID: model, OwnedBy: "actorinfer", Kind: "deployment", Created: 1700000000})
	return t
}

func (t *testBackend) Models() []ModelInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]ModelInfo(nil), t.models...)
}

func (t *testBackend) Execute(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
	t.mu.Lock()
	s := t.scripts[b.GetModel()]
	t.batches = append(t.batches, b)
	t.mu.Unlock()
	if s == nil {
		return nil, runners.Errorf(runners.CodeNotFound, "no deployment or router named %q", b.GetModel())
	}
	return s(ctx, b)
}

func (t *testBackend) lastBatch() *messages.ExecuteBatch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.batches) == 0 {
		return nil
	}
	return t.batches[len(t.batches)-1]
}

func (t *testBackend) DeploymentStates(context.Context) ([]*messages.DeploymentState, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.states, t.statesErr
}

func (t *testBackend) DeploymentState(_ context.Context, name string) (*messages.DeploymentState, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.states {
		if s.GetName() == name {
			return s, nil
		}
	}
	return nil, runners.Errorf(runners.CodeNotFound, "no deployment named %q", name)
}

func (t *testBackend) known(name string) error {
	for _, s := range t.states {
		if s.GetName() == name {
			return nil
		}
	}
	return runners.Errorf(runners.CodeNotFound, "no deployment named %q", name)
}

func (t *testBackend) Rebuild(_ context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.known(name); err != nil {
		return err
	}
	t.rebuilt = append(t.rebuilt, name)
	return nil
}

func (t *testBackend) ForceOpen(_ context.Context, name string, d time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.known(name); err != nil {
		return err
	}
	t.forced[name] = d
	return nil
}

var _ Backend = (*testBackend)(nil)

// reply answers with text split into the given pieces, served by
// deployment, ending with finish reason stop and usage.
func reply(deployment string, pieces ...string) script {
	return func(_ context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
		return &runners.SliceHandle{Chunks: chunks(deployment, b.GetRequestId(), pieces...)}, nil
	}
}

func chunks(deployment, reqID string, pieces ...string) []*messages.TokenChunk {
	out := make([]*messages.TokenChunk, len(pieces))
	for i, p := range pieces {
		out[i] = &messages.TokenChunk{RequestId: reqID, Seq: uint32(i), Text: p}
	}
	out[0].Deployment = deployment
	last := out[len(out)-1]
	last.Deployment = deployment
	last.FinishReason = messages.FinishReason_FINISH_REASON_STOP
	last.Usage = &messages.Usage{InputTokens: 12, OutputTokens: int64(len(pieces)), CachedInputTokens: 4, ReasoningTokens: 1}
	last.CostUsd = 0.0025
	return out
}

// fail answers Execute with err.
func fail(err error) script {
	return func(context.Context, *messages.ExecuteBatch) (runners.RunHandle, error) { return nil, err }
}

// cut streams pieces and then fails with err.
func cut(deployment string, err error, pieces ...string) script {
	return func(_ context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
		cs := make([]*messages.TokenChunk, len(pieces))
		for i, p := range pieces {
			cs[i] = &messages.TokenChunk{Seq: uint32(i), Text: p, Deployment: deployment}
		}
		return &runners.SliceHandle{Chunks: cs, Err: err}, nil
	}
}

// hang is a script whose stream sends first (when non-empty) and then waits
// for its context: it reports the start and the cancellation on channels.
// The stream's handle reports its Close on closed.
type hang struct {
	first     string
	started   chan struct{}
	cancelled chan error
	closed    chan struct{}
}

func newHang(first string) *hang {
	return &hang{first: first, started: make(chan struct{}, 1), cancelled: make(chan error, 1),
		closed: make(chan struct{})}
}

func (h *hang) script(ctx context.Context, _ *messages.ExecuteBatch) (runners.RunHandle, error) {
	p, _ := runners.NewPipe(context.Background(), 1)
	go func() {
		if h.first != "" {
			p.Send(&messages.TokenChunk{Text: h.first, Deployment: "slow"})
		}
		h.started <- struct{}{}
		<-ctx.Done() // the request's own context, as the actors would see it
		h.cancelled <- ctx.Err()
		p.Finish(runners.ErrCancelled)
	}()
	return &closeRecorder{RunHandle: p, closed: h.closed}, nil
}

type closeRecorder struct {
	runners.RunHandle
	once   sync.Once
	closed chan struct{}
}

func (c *closeRecorder) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.RunHandle.Close()
}
