package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/actorinfer/actorinfer/runners/runnertest"
)

func TestConformance(t *testing.T) {
	dir := sharedModels(t)
	runnertest.Run(t, runnertest.Harness{
		Deterministic: true, // Config.Seed fixes the sampler of seedless requests
		Stop:          true,
		New: func(t *testing.T) *runnertest.Instance {
			// A private copy of the checkpoint, so FailRebuild can remove it.
			model := filepath.Join(t.TempDir(), "stories260K.bin")
			data, err := os.ReadFile(filepath.Join(dir, "stories260K.bin"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(model, data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := New(Config{ModelPath: model, TokenizerPath: filepath.Join(dir, "tok512.bin"), Threads: 2, Seed: 1, ContextLength: 128})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return &runnertest.Instance{
				Runner:      r,
				Stall:       r.stallForTest,
				InFlight:    r.inFlight,
				FailRebuild: func() { os.Remove(model) },
			}
		},
	})
}
