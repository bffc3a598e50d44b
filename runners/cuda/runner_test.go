package cuda

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/local"
)

func testPTX(t testing.TB) []byte {
	t.Helper()
	ptx, err := PTX("sm_80")
	if err != nil {
		t.Fatal(err)
	}
	return ptx
}

func newFakeRunner(t testing.TB, cfg Config) (*Runner, *FakeDriver) {
	t.Helper()
	drv := NewFakeDriver()
	r, err := New(drv, testPTX(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, drv
}

func greedyBatch(prompt string, maxTokens int32) *messages.ExecuteBatch {
	temp := float32(0)
	return &messages.ExecuteBatch{Model: "m", Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}},
		Sampling: &messages.Sampling{Temperature: &temp, MaxTokens: maxTokens}}
}

// generate runs b to the end and returns its text and last chunk.
func generate(t testing.TB, r runners.ModelRunner, b *messages.ExecuteBatch) (string, *messages.TokenChunk, error) {
	t.Helper()
	h, err := r.Execute(context.Background(), b)
	if err != nil {
		return "", nil, err
	}
	chunks, err := runners.ReadAll(h)
	var sb strings.Builder
	for _, c := range chunks {
		sb.WriteString(c.GetText())
	}
	var last *messages.TokenChunk
	if len(chunks) > 0 {
		last = chunks[len(chunks)-1]
	}
	return sb.String(), last, err
}

func mustGenerate(t testing.TB, r runners.ModelRunner, b *messages.ExecuteBatch) string {
	t.Helper()
	text, last, err := generate(t, r, b)
	if err != nil {
		t.Fatalf("Execute(%q): %v", b.GetMessages()[0].GetContent(), err)
	}
	if last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		t.Fatalf("Execute(%q): last chunk %v has no finish reason", b.GetMessages()[0].GetContent(), last)
	}
	return text
}

func TestGreedyMatchesLocal(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    shape
	}{
		{"mha", shape{dim: 64, hidden: 172, layers: 2, heads: 4, kvHeads: 4, vocab: 320, seqLen: 96}},
		{"gqa_untied", shape{dim: 48, hidden: 128, layers: 3, heads: 6, kvHeads: 2, vocab: 300, seqLen: 80, untied: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model, tok := writeRandomModel(t, tc.s, 7)
			lr, err := local.New(local.Config{ModelPath: model, TokenizerPath: tok, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer lr.Close()
			cr, drv := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
			for _, prompt := range []string{"hello world", "a b c", "zebra"} {
				want := mustGenerate(t, lr, greedyBatch(prompt, 40))
				got := mustGenerate(t, cr, greedyBatch(prompt, 40))
				if got != want {
					t.Errorf("cuda greedy(%q) =\n%q\nlocal =\n%q", prompt, got, want)
				}
				if want == "" {
					t.Errorf("local greedy(%q) is empty; the comparison proves nothing", prompt)
				}
			}
			if drv.Launches("matvec") == 0 || drv.Launches("attn_values") == 0 {
				t.Errorf("the fake driver ran no kernels")
			}
		})
	}
}

func TestGoldenStories260K(t *testing.T) {
	dir := sharedModels(t)
	model, tok := filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	cr, _ := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
	lr, err := local.New(local.Config{ModelPath: model, TokenizerPath: tok, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	goldenPrompt := "Once upon a time"
	golden := strings.TrimSuffix(readFile(t, filepath.Join(dir, "stories260K.greedy64.onceuponatime.txt")), "\n")
	lt, _ := lr.Tokenizer()
	// run.c -n 64 runs 64 positions: the prompt's (BOS included) then the
	// generated tokens.
	maxNew := int32(64 - len(lt.Encode(goldenPrompt, true, false)) + 1)
	got := mustGenerate(t, cr, greedyBatch(goldenPrompt, maxNew))
	if want := strings.TrimPrefix(golden, goldenPrompt); got != want {
		t.Errorf("cuda greedy(%q) =\n%q\nwant (golden)\n%q", goldenPrompt, got, want)
	}
	for _, prompt := range []string{"Once upon a time", "", "The dog"} {
		want := mustGenerate(t, lr, greedyBatch(prompt, 100))
		if got := mustGenerate(t, cr, greedyBatch(prompt, 100)); got != want {
			t.Errorf("cuda greedy(%q) =\n%q\nlocal =\n%q", prompt, got, want)
		}
	}
}

func poisoned(t *testing.T, err error) {
	t.Helper()
	if c := runners.Classify(err); !c.SessionFault || c.Cause != runners.CudaContextPoisoned {
		t.Fatalf("error %v: Classify = %+v, want a session fault cuda_context_poisoned", err, c)
	}
}

func TestTrapPoisonsAndRebuildRestores(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 2, vocab: 280, seqLen: 64}, 3)
	r, drv := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
	want := mustGenerate(t, r, greedyBatch("ab", 20))

	r.InjectTrap()
	_, _, err := generate(t, r, greedyBatch("ab", 20))
	poisoned(t, err)
	var de *Error
	if !errors.As(err, &de) || de.Code != ErrLaunchFailed {
		t.Fatalf("error %v: want it to wrap the driver's %v", err, ErrLaunchFailed)
	}
	// Sticky: the next request fails at once, as does the health probe.
	_, err = r.Execute(context.Background(), greedyBatch("ab", 20))
	poisoned(t, err)
	poisoned(t, r.Healthy(context.Background()))

	if err := r.RebuildSession(context.Background(), runners.CudaContextPoisoned); err != nil {
		t.Fatalf("RebuildSession = %v", err)
	}
	if err := r.Healthy(context.Background()); err != nil {
		t.Fatalf("Healthy after rebuild = %v", err)
	}
	if created, destroyed := drv.Contexts(); created != 2 || destroyed != 1 {
		t.Fatalf("Contexts() = %d created, %d destroyed; want 2, 1", created, destroyed)
	}
	if got := mustGenerate(t, r, greedyBatch("ab", 20)); got != want {
		t.Fatalf("after rebuild = %q, want %q", got, want)
	}
	if drv.Launches("canary") < 3 {
		t.Fatalf("canary launches = %d, want one per session and per Healthy", drv.Launches("canary"))
	}
}

func TestStickyCodesPoison(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 1, heads: 4, kvHeads: 4, vocab: 270, seqLen: 32}, 5)
	for _, code := range []Result{ErrIllegalAddress, ErrLaunchTimeout, ErrHardwareStackError, ErrIllegalInstruction,
		ErrMisalignedAddress, ErrInvalidAddressSpace, ErrInvalidPC, ErrLaunchFailed} {
		t.Run(code.String(), func(t *testing.T) {
			r, drv := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
			drv.PoisonNextLaunch(code)
			_, _, err := generate(t, r, greedyBatch("ab", 5))
			poisoned(t, err)
			if err := r.RebuildSession(context.Background(), runners.CudaContextPoisoned); err != nil {
				t.Fatal(err)
			}
			mustGenerate(t, r, greedyBatch("ab", 5))
		})
	}
}

func TestRebuildFailures(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 1, heads: 4, kvHeads: 4, vocab: 270, seqLen: 32}, 5)
	for _, tc := range []struct {
		name   string
		inject func(*FakeDriver)
		heal   func(*FakeDriver)
		check  func(*testing.T, error)
	}{
		{"canary", func(d *FakeDriver) { d.CorruptCanary(true) }, func(d *FakeDriver) { d.CorruptCanary(false) },
			func(t *testing.T, err error) {
				var ce *CanaryError
				if !errors.As(runners.AsError(err), new(*messages.Error)) || !strings.Contains(err.Error(), "canary") {
					t.Errorf("error %v (%T), want a typed canary failure", err, ce)
				}
			}},
		{"create", func(d *FakeDriver) { d.FailCreate(1) }, func(*FakeDriver) {},
			func(t *testing.T, err error) {
				if runners.AsError(err).GetCode() != runners.CodeInternal {
					t.Errorf("error %v, want internal", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, drv := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
			tc.inject(drv)
			err := r.RebuildSession(context.Background(), runners.Manual)
			if err == nil {
				t.Fatal("RebuildSession = nil, want an error")
			}
			tc.check(t, err)
			// Without a session every request is a session fault (the
			// supervisor rebuilds again).
			_, err = r.Execute(context.Background(), greedyBatch("ab", 5))
			poisoned(t, err)
			tc.heal(drv)
			if err := r.RebuildSession(context.Background(), runners.CudaContextPoisoned); err != nil {
				t.Fatalf("second RebuildSession = %v", err)
			}
			mustGenerate(t, r, greedyBatch("ab", 5))
		})
	}
}

func TestNewFailsWithoutDevice(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 1, heads: 4, kvHeads: 4, vocab: 270, seqLen: 32}, 5)
	drv := NewFakeDriver()
	drv.FailCreate(1)
	if _, err := New(drv, testPTX(t), Config{ModelPath: model, TokenizerPath: tok}); err == nil {
		t.Fatal("New with a failing device = nil error")
	}
	if _, err := New(drv, []byte("not ptx"), Config{ModelPath: model, TokenizerPath: tok}); err == nil {
		t.Fatal("New with bad PTX = nil error")
	}
	if created, destroyed := drv.Contexts(); created != destroyed {
		t.Fatalf("contexts created %d, destroyed %d: a failed New leaked one", created, destroyed)
	}
}

func TestCacheFreedAfterRequests(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 1, heads: 4, kvHeads: 4, vocab: 270, seqLen: 32}, 5)
	r, drv := newFakeRunner(t, Config{ModelPath: model, TokenizerPath: tok})
	// The owner frees a sequence's cache just after its last chunk reaches
	// the caller: wait until nothing is in flight before reading.
	idle := func() {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for r.InFlight() != 0 {
			select {
			case <-deadline:
				t.Fatalf("InFlight() = %d, want 0", r.InFlight())
			default:
				runtime.Gosched()
			}
		}
	}
	mustGenerate(t, r, greedyBatch("ab", 5))
	idle()
	base := drv.LiveBytes()
	for i := 0; i < 3; i++ {
		mustGenerate(t, r, greedyBatch("ab", 5))
	}
	idle()
	if got := drv.LiveBytes(); got != base {
		t.Fatalf("LiveBytes() = %d after more requests, want %d (KV caches freed)", got, base)
	}
}

func TestLoadWeightsReplacesModel(t *testing.T) {
	a, tok := writeRandomModel(t, shape{dim: 32, hidden: 64, layers: 1, heads: 4, kvHeads: 4, vocab: 290, seqLen: 48}, 21)
	b, _ := writeRandomModel(t, shape{dim: 48, hidden: 96, layers: 2, heads: 6, kvHeads: 3, vocab: 290, seqLen: 48}, 22)
	r, drv := newFakeRunner(t, Config{ModelPath: a, TokenizerPath: tok})
	mustGenerate(t, r, greedyBatch("ab", 20))
	before := drv.LiveBytes()
	if err := r.LoadWeights(context.Background(), runners.CudaContextHandle{}, runners.WeightSource{Kind: runners.LocalPath, Path: b}); err != nil {
		t.Fatal(err)
	}
	lr, err := local.New(local.Config{ModelPath: b, TokenizerPath: tok, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	want := mustGenerate(t, lr, greedyBatch("ab", 20))
	if got := mustGenerate(t, r, greedyBatch("ab", 20)); got != want {
		t.Fatalf("after LoadWeights = %q, want %q (the new model's)", got, want)
	}
	if after := drv.LiveBytes(); after <= before {
		t.Fatalf("device memory %d bytes after loading the larger model, %d before", after, before)
	}
	// A rebuild reloads the new weights, not the configured ones.
	if err := r.RebuildSession(context.Background(), runners.Manual); err != nil {
		t.Fatal(err)
	}
	if got := mustGenerate(t, r, greedyBatch("ab", 20)); got != want {
		t.Fatalf("after rebuild = %q, want %q", got, want)
	}
	if created, destroyed := drv.Contexts(); created != 3 || destroyed != 2 {
		t.Fatalf("contexts %d created, %d destroyed; want 3, 2", created, destroyed)
	}
	err = r.LoadWeights(context.Background(), runners.CudaContextHandle{}, runners.WeightSource{Kind: runners.LocalPath, Path: filepath.Join(t.TempDir(), "missing.bin")})
	if err == nil {
		t.Fatal("LoadWeights(missing) = nil")
	}
	if got := mustGenerate(t, r, greedyBatch("ab", 20)); got != want {
		t.Fatalf("after a failed LoadWeights = %q, want the loaded model's %q", got, want)
	}
}
