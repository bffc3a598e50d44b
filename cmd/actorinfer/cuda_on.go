//go:build cuda

package main

import (
	"log/slog"

	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/cuda"
	"github.com/actorinfer/actorinfer/runners/local"
)

// cudaFactory builds cuda runners (a build with -tags cuda). Replica i
// runs on device i modulo the device count, with the PTX for that
// device's compute capability.
func cudaFactory(d *config.Deployment, logger *slog.Logger) (func(int) (runners.ModelRunner, error), error) {
	cfg := cuda.Config{
		ModelPath: d.ModelPath, TokenizerPath: d.TokenizerPath, MaxSequences: d.MaxBatch,
		ContextLength: d.ContextLength, Model: d.Model,
	}
	if d.ChatTemplate == config.TemplateLlama2 {
		cfg.ChatTemplate = local.TemplateLlama2
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	drv, err := cuda.NewDriver()
	if err != nil {
		return nil, err
	}
	n := drv.DeviceCount()
	return func(i int) (runners.ModelRunner, error) {
		c := cfg
		c.Device = i % n
		ptx, arch, err := drv.PTXFor(c.Device)
		if err != nil {
			return nil, err
		}
		name, major, minor, _ := drv.DeviceInfo(c.Device)
		logger.Info("cuda runner", "replica", i, "device", c.Device, "name", name,
			"compute_capability", major*10+minor, "ptx", arch, "driver", drv.Name())
		return cuda.New(drv, ptx, c)
	}, nil
}
