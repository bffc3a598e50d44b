package cuda

import (
	"path/filepath"
	"testing"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/runnertest"
)

// TestConformance runs the runnertest suite against the runner on the
// fake driver: the shared stories260K model when present, otherwise a
// random-weight model.
func TestConformance(t *testing.T) {
	var model, tok, prompt string
	if dir := sharedDirOrEmpty(); dir != "" {
		model, tok = filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	} else {
		model, tok = writeRandomModel(t, shape{dim: 48, hidden: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 320, seqLen: 128}, 11)
		prompt = "a quick brown fox"
	}
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true, // Config.Seed fixes the sampler of seedless requests
		Stop:          true,
		Prompt:        prompt,
		ReplyTokens:   24,
		New: func(t *testing.T) *runnertest.Instance {
			drv := NewFakeDriver()
			r, err := New(drv, testPTX(t), Config{ModelPath: model, TokenizerPath: tok, Seed: 1, ContextLength: 128})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return &runnertest.Instance{
				Runner:   r,
				Stall:    r.stallForTest,
				InFlight: r.InFlight,
				SessionFaults: []runnertest.SessionFault{
					{Name: "trap_kernel", Cause: runners.CudaContextPoisoned, Inject: r.InjectTrap},
					{Name: "illegal_address", Cause: runners.CudaContextPoisoned, Inject: func() { drv.PoisonNextLaunch(ErrIllegalAddress) }},
				},
				FailRebuild: func() { drv.CorruptCanary(true) },
			}
		},
	})
}
