package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Runner is the pure-Go CPU runner: a llama-family model with its
// tokenizer, a worker pool and one scheduler goroutine that batches the
// decode steps of concurrent requests. It implements runners.ModelRunner
// and is safe for concurrent use. Close releases it.
type Runner struct {
	runners.Defaults
	cfg Config

	mu   sync.Mutex
	inst *instance

	stall atomic.Pointer[stallGate] // test hook, see sequence.stall
}

// stallGate holds sequences after a number of chunks until released.
type stallGate struct {
	after   uint32
	release chan struct{}
}

// instance is one loaded model and the scheduler that serves it. A reload
// replaces the instance; the old one finishes its streams, then unmaps.
type instance struct {
	model *Model
	tok   *Tokenizer
	sched *scheduler
	ctx   int
	name  string
}

var _ runners.ModelRunner = (*Runner)(nil)

// New validates cfg, loads the model and tokenizer and starts the runner.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg}
	inst, err := r.load(cfg.ModelPath, cfg.TokenizerPath)
	if err != nil {
		return nil, err
	}
	r.inst = inst
	return r, nil
}

// load opens a model and tokenizer and starts an instance over them.
func (r *Runner) load(modelPath, tokPath string) (*instance, error) {
	model, err := LoadModel(modelPath)
	if err != nil {
		return nil, runners.Errorf(runners.CodeInternal, "%v", err)
	}
	fail := func(err error) (*instance, error) {
		model.Close()
		return nil, runners.Errorf(runners.CodeInternal, "%v", err)
	}
	var tok *Tokenizer
	switch {
	case tokPath != "":
		if tok, err = LoadTokenizer(tokPath, model.Params.VocabSize); err != nil {
			return fail(err)
		}
	case model.Vocab != nil:
		tok = model.Vocab
	default:
		return fail(fmt.Errorf("local: %s has no vocabulary: tokenizer_path is required", modelPath))
	}
	ctx := model.Params.SeqLen
	if c := r.cfg.ContextLength; c > 0 {
		if c > ctx {
			return fail(fmt.Errorf("local: context_length %d exceeds the model's sequence length %d", c, ctx))
		}
		ctx = c
	}
	name := r.cfg.Model
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath))
	}
	eng := newEngine(model, ctx, r.cfg.maxBatch(), r.cfg.threads())
	return &instance{model: model, tok: tok, sched: newScheduler(eng, tok), ctx: ctx, name: name}, nil
}

// retire closes an instance once its streams have finished.
func (inst *instance) retire() {
	inst.sched.close()
	go func() {
		<-inst.sched.done
		inst.model.Close()
	}()
}

// Close stops the runner after its current streams end and waits for that.
func (r *Runner) Close() error {
	r.mu.Lock()
	inst := r.inst
	r.inst = nil
	r.mu.Unlock()
	if inst == nil {
		return nil
	}
	inst.sched.close()
	<-inst.sched.done
	return inst.model.Close()
}

// Kernels names the matrix kernels this build uses: the AVX2/FMA assembly
// kernels on amd64, or "generic" (portable Go: other architectures, CPUs
// without AVX2/FMA, -tags purego builds).
func Kernels() string { return kernelName }

// Params returns the loaded model's hyperparameters.
func (r *Runner) Params() (Params, error) {
	inst, err := r.current()
	if err != nil {
		return Params{}, err
	}
	return inst.model.Params, nil
}

// Tokenizer returns the loaded tokenizer.
func (r *Runner) Tokenizer() (*Tokenizer, error) {
	inst, err := r.current()
	if err != nil {
		return nil, err
	}
	return inst.tok, nil
}

func (r *Runner) current() (*instance, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inst == nil {
		return nil, runners.Errorf(runners.CodeInternal, "local: runner is closed")
	}
	return r.inst, nil
}

// RuntimeKind returns runners.RuntimeLocal.
func (r *Runner) RuntimeKind() runners.RuntimeKind { return runners.RuntimeLocal }

// TransportKind returns LocalCPU.
func (r *Runner) TransportKind() runners.TransportKind { return runners.TransportLocalCPU() }

// LoadWeights loads (or reloads) the model from a LocalPath source; its
// TokenizerPath, when set, replaces the configured one. Streams already
// running finish on the previous weights.
func (r *Runner) LoadWeights(ctx context.Context, _ runners.CudaContextHandle, src runners.WeightSource) error {
	if src.Kind != runners.LocalPath {
		return runners.Errorf(runners.CodeUnsupported, "local: weight source %s is not supported (want a local path)", src)
	}
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	tp := src.TokenizerPath
	if tp == "" {
		tp = r.cfg.TokenizerPath
	}
	inst, err := r.load(src.Path, tp)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.inst
	r.inst = inst
	r.cfg.ModelPath, r.cfg.TokenizerPath = src.Path, tp
	r.mu.Unlock()
	if old != nil {
		old.retire()
	}
	return nil
}

// RebuildSession reloads the model from the configured paths (any cause).
func (r *Runner) RebuildSession(ctx context.Context, _ runners.SessionRebuildCause) error {
	r.mu.Lock()
	src := runners.WeightSource{Kind: runners.LocalPath, Path: r.cfg.ModelPath, TokenizerPath: r.cfg.TokenizerPath}
	r.mu.Unlock()
	return r.LoadWeights(ctx, runners.CudaContextHandle{}, src)
}

// Execute tokenizes the conversation (see Config.ChatTemplate) and queues it
// for decoding. The handle streams one chunk per generated token; the last
// carries the finish reason (stop at end of sequence or a stop string,
// length at max_tokens or the context end) and usage. A prompt longer than
// the context fails at once with context_length_exceeded.
func (r *Runner) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	inst, err := r.current()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, runners.AsError(err)
	}
	plan, err := PlanRequest("local", inst.tok, r.cfg.ChatTemplate, inst.ctx, r.cfg.Seed, batch)
	if err != nil {
		return nil, err
	}
	pipe, pctx := runners.NewPipe(ctx, plan.MaxNew+1)
	q := &sequence{
		ctx: pctx, pipe: pipe, requestID: batch.GetRequestId(), model: inst.name,
		prompt: plan.Prompt, next: plan.Prompt[0], maxNew: plan.MaxNew,
		sampler: NewSampler(inst.model.Params.VocabSize, plan.Temperature, plan.TopP, plan.TopK, plan.Seed,
			plan.Presence, plan.Frequency).s,
		stops: plan.Stops,
	}
	if g := r.stall.Load(); g != nil {
		q.stallAfter, q.stallRelease = g.after, g.release
	}
	if !inst.sched.submit(q) {
		pipe.Close()
		return nil, runners.Errorf(runners.CodeInternal, "local: runner is closing")
	}
	return pipe, nil
}

// stallForTest makes sequences started from now sit out decode steps after
// `after` chunks until release is called or they are cancelled. It is the
// conformance suite's Stall injector.
func (r *Runner) stallForTest(after int) (release func()) {
	g := &stallGate{after: uint32(after), release: make(chan struct{})}
	r.stall.Store(g)
	return sync.OnceFunc(func() {
		r.stall.CompareAndSwap(g, nil)
		close(g.release)
		if inst, err := r.current(); err == nil {
			inst.sched.signal()
		}
	})
}

// inFlight reports the requests queued or being decoded.
func (r *Runner) inFlight() int {
	inst, err := r.current()
	if err != nil {
		return 0
	}
	return inst.sched.pendingCount()
}
