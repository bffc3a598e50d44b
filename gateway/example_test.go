package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/gateway"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// oneRunner is the smallest Backend: one model served by one runner. The
// real one is built over the actor system by the composition root.
type oneRunner struct {
	name string
	r    runners.ModelRunner
}

func (b oneRunner) Models() []gateway.ModelInfo {
	return []gateway.ModelInfo{{ID: b.name, Kind: "deployment"}}
}

func (b oneRunner) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	if batch.GetModel() != b.name {
		return nil, runners.Errorf(runners.CodeNotFound, "unknown model %q", batch.GetModel())
	}
	return b.r.Execute(ctx, batch)
}

func (b oneRunner) DeploymentStates(context.Context) ([]*messages.DeploymentState, error) {
	return []*messages.DeploymentState{{Name: b.name, Healthy: true}}, nil
}

func (b oneRunner) DeploymentState(_ context.Context, name string) (*messages.DeploymentState, error) {
	if name != b.name {
		return nil, runners.Errorf(runners.CodeNotFound, "unknown deployment %q", name)
	}
	return &messages.DeploymentState{Name: b.name, Healthy: true}, nil
}

func (b oneRunner) Rebuild(ctx context.Context, name string) error {
	return b.r.RebuildSession(ctx, runners.Manual)
}

func (b oneRunner) ForceOpen(context.Context, string, time.Duration) error {
	return runners.Errorf(runners.CodeUnsupported, "no breaker")
}

func ExampleNew() {
	gw := gateway.New(gateway.Options{
		Now:   func() time.Time { return time.Unix(1700000000, 0) },
		NewID: func() string { return "example" },
	}, oneRunner{name: "demo", r: fake.New()})

	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(
		`{"model":"demo","messages":[{"role":"user","content":"hello there"}]}`))
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 200 application/json
	// {"id":"chatcmpl-example","object":"chat.completion","created":1700000000,"model":"demo","choices":[{"index":0,"message":{"role":"assistant","content":"hello there","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}
}
