//go:build !cuda

package main

import (
	"fmt"
	"log/slog"

	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
)

// cudaFactory refuses runtime "cuda" in a build without the cuda tag.
func cudaFactory(d *config.Deployment, _ *slog.Logger) (func(int) (runners.ModelRunner, error), error) {
	return nil, fmt.Errorf("runtime %q needs a binary built with -tags cuda (go build -tags cuda ./cmd/actorinfer); this one was built without it", d.Runtime)
}
