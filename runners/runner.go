package runners

import (
	"context"
	"errors"
	"io"

	"github.com/actorinfer/actorinfer/messages"
)

// ModelRunner is one model backend: a local CPU or GPU runtime, or a remote
// provider reached over HTTP.
//
// Concurrency: every method may be called from any goroutine, and Execute may
// be called concurrently with itself. RebuildSession is called by the owning
// actor only while no new Execute is being started (the actor is restarting),
// but streams started before it may still be running and must finish on the
// old session (or fail with a typed error) — never hang.
//
// Errors: every error a runner returns, from Execute or from RunHandle.Recv,
// should be a *messages.Error (or wrap one) so that Classify can map it onto
// retry, breaker and session-fault decisions. A *SessionFault (or an Error
// with code cuda_context_poisoned / unauthorized) asks the supervisor to
// rebuild the session. Untyped errors are treated as internal.
type ModelRunner interface {
	// Execute dispatches batch and returns as soon as the work is under way
	// (kernels queued, HTTP request sent and its status received). Output
	// arrives on the returned RunHandle. The caller owns the handle and must
	// Close it, whether or not it read to io.EOF.
	//
	// ctx governs the whole request, stream included: cancelling it stops
	// generation at the next token (local) or aborts the upstream request
	// (remote), after which Recv returns a cancelled or timeout error. The
	// batch's own deadline, when set, is applied by the caller through ctx.
	//
	// Execute must not retain batch after the returned handle is closed and
	// must not modify it.
	Execute(ctx context.Context, batch *messages.ExecuteBatch) (RunHandle, error)

	// RebuildSession tears down and recreates the runner's session: a local
	// GPU runner destroys and recreates its CUDA context and reloads its
	// weights; a remote runner rebuilds its HTTP client and re-reads its
	// credentials and endpoint. It returns an error when the session could
	// not be rebuilt; the replica is then unhealthy.
	RebuildSession(ctx context.Context, cause SessionRebuildCause) error

	// RuntimeKind names the runtime ("openai", "local", ...).
	RuntimeKind() RuntimeKind
	// TransportKind says where the work runs; the cluster places deployments by it.
	TransportKind() TransportKind

	// LoadWeights loads model weights (local runners: into memory or onto the
	// device owned by cuda). Remote runners: a no-op (see Defaults).
	LoadWeights(ctx context.Context, cuda CudaContextHandle, src WeightSource) error
	// GILPinned reports whether calls must stay on one OS thread for a
	// language runtime lock; false for every Go runner (kept for parity with
	// Python-backed runtimes).
	GILPinned() bool
	// RateLimits returns the limits that seed the deployment's
	// RateLimiterActor, or nil for none (local runners).
	RateLimits() *RateLimits
	// EstimateCostUSD returns the worst-case cost of batch in USD: input
	// tokens (estimated) plus max_tokens at the output price. 0 for local
	// runners. A runner whose price is unknown returns a negative value.
	EstimateCostUSD(batch *messages.ExecuteBatch) float64
}

// RunHandle is a pull stream of one request's output.
//
// Recv returns the next chunk, blocking until one is ready, and io.EOF after
// the last one (the last chunk carries the finish reason and usage). Any
// other error ends the stream; it is a *messages.Error when the runner could
// type it. Recv is not safe for concurrent use.
//
// Close releases the request's resources and cancels it if it is still
// running. It is safe to call more than once and concurrently with Recv,
// which then returns promptly.
type RunHandle interface {
	Recv() (*messages.TokenChunk, error)
	Close() error
}

// EOF is io.EOF, re-exported for readers of this package's docs.
var EOF = io.EOF

// Defaults gives a runner the provided methods of ModelRunner with their
// documented defaults. Embed it and override what differs.
type Defaults struct{}

// LoadWeights does nothing and returns nil.
func (Defaults) LoadWeights(context.Context, CudaContextHandle, WeightSource) error { return nil }

// GILPinned returns false.
func (Defaults) GILPinned() bool { return false }

// RateLimits returns nil: no limits.
func (Defaults) RateLimits() *RateLimits { return nil }

// EstimateCostUSD returns 0: free.
func (Defaults) EstimateCostUSD(*messages.ExecuteBatch) float64 { return 0 }

// RateLimitReporter is implemented by runners that learn the provider's
// current limits from response headers. The RunnerActor registers a sink at
// start; the runner calls it (from any goroutine) with each report.
type RateLimitReporter interface {
	SetRateLimitSink(func(*messages.RateLimitFeedback))
}

// Healther is implemented by runners that can answer a cheap health probe,
// used after a rebuild (for example a canary kernel on a GPU).
type Healther interface {
	Healthy(ctx context.Context) error
}

// ReadAll drains h into a slice and closes it. It is a convenience for tests
// and unary callers; the returned error is nil at a clean io.EOF.
func ReadAll(h RunHandle) ([]*messages.TokenChunk, error) {
	defer h.Close()
	var out []*messages.TokenChunk
	for {
		c, err := h.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
}
