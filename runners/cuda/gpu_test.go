//go:build cuda

package cuda

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/local"
)

// These tests need a CUDA device (go test -tags cuda); scripts/gpu-check.sh
// runs them.

func newGPURunner(t testing.TB, cfg Config) *Runner {
	t.Helper()
	drv, err := NewDriver()
	if err != nil {
		t.Fatalf("NewDriver: %v", err)
	}
	name, major, minor, err := drv.DeviceInfo(0)
	if err != nil {
		t.Fatal(err)
	}
	ptx, arch, err := drv.PTXFor(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device 0: %s, compute capability %d.%d, PTX %s, %s", name, major, minor, arch, drv.Name())
	r, err := New(drv, ptx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestGPUGolden(t *testing.T) {
	dir := sharedModels(t)
	model, tok := filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	r := newGPURunner(t, Config{ModelPath: model, TokenizerPath: tok})
	lr, err := local.New(local.Config{ModelPath: model, TokenizerPath: tok, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	lt, _ := lr.Tokenizer()
	prompt := "Once upon a time"
	golden := strings.TrimSuffix(readFile(t, filepath.Join(dir, "stories260K.greedy64.onceuponatime.txt")), "\n")
	maxNew := int32(64 - len(lt.Encode(prompt, true, false)) + 1)
	if got, want := mustGenerate(t, r, greedyBatch(prompt, maxNew)), strings.TrimPrefix(golden, prompt); got != want {
		t.Errorf("GPU greedy(%q) =\n%q\nwant (golden)\n%q", prompt, got, want)
	}
	for _, p := range []string{"", "The dog"} {
		want := mustGenerate(t, lr, greedyBatch(p, 100))
		if got := mustGenerate(t, r, greedyBatch(p, 100)); got != want {
			t.Errorf("GPU greedy(%q) =\n%q\nCPU =\n%q", p, got, want)
		}
	}
}

func TestGPUPoisonRebuild(t *testing.T) {
	model, tok := writeRandomModel(t, shape{dim: 64, hidden: 172, layers: 2, heads: 4, kvHeads: 2, vocab: 320, seqLen: 96}, 9)
	r := newGPURunner(t, Config{ModelPath: model, TokenizerPath: tok})
	want := mustGenerate(t, r, greedyBatch("ab", 20))
	r.InjectTrap()
	_, _, err := generate(t, r, greedyBatch("ab", 20))
	if c := runners.Classify(err); !c.SessionFault || c.Cause != runners.CudaContextPoisoned {
		t.Fatalf("after the trap kernel: %v (Classify %+v), want a cuda_context_poisoned session fault", err, c)
	}
	var de *Error
	if errors.As(err, &de) {
		t.Logf("trap kernel: %v (sticky %v)", de.Code, de.Code.Sticky())
	}
	if err := r.Healthy(context.Background()); err == nil {
		t.Fatal("Healthy on a poisoned context = nil")
	}
	start := time.Now()
	if err := r.RebuildSession(context.Background(), runners.CudaContextPoisoned); err != nil {
		t.Fatalf("RebuildSession = %v", err)
	}
	t.Logf("rebuild (new context, module, weights, canary) took %v", time.Since(start))
	if err := r.Healthy(context.Background()); err != nil {
		t.Fatalf("Healthy after rebuild = %v", err)
	}
	if got := mustGenerate(t, r, greedyBatch("ab", 20)); got != want {
		t.Fatalf("after rebuild = %q, want %q", got, want)
	}
}

// BenchmarkGPUDecode reports tok/s: greedy, 128 tokens from BOS, random
// weights in the stories15M and stories110M shapes.
func BenchmarkGPUDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		s    shape
	}{
		{"15M", shape{dim: 288, hidden: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000, seqLen: 256}},
		{"110M", shape{dim: 768, hidden: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000, seqLen: 1024}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			model, tok := writeRandomModel(b, tc.s, 1)
			r := newGPURunner(b, Config{ModelPath: model, TokenizerPath: tok})
			b.ResetTimer()
			tokens := 0
			for i := 0; i < b.N; i++ {
				h, err := r.Execute(context.Background(), greedyBatch("", 128))
				if err != nil {
					b.Fatal(err)
				}
				chunks, err := runners.ReadAll(h)
				if err != nil {
					b.Fatal(err)
				}
				tokens += int(chunks[len(chunks)-1].GetUsage().GetOutputTokens())
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
