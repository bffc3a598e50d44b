package main

import (
	"fmt"
	"log/slog"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// deploymentSpec maps one [[deployment]] onto the actors' DeploymentSpec,
// choosing the runner implementation by runtime. This is the only place
// that knows every runner package.
func deploymentSpec(d *config.Deployment, logger *slog.Logger) (*actors.DeploymentSpec, error) {
	newRunner, err := runnerFactory(d, logger)
	if err != nil {
		return nil, err
	}
	spec := &actors.DeploymentSpec{
		Name:          d.Name,
		Model:         d.Model,
		Runtime:       string(d.Runtime),
		NewRunner:     newRunner,
		Replicas:      d.Replicas,
		Idempotent:    d.IsIdempotent(),
		MaxConcurrent: d.Serving.MaxConcurrent,
		QueueSize:     d.Serving.QueueSize,
		Fallback:      d.Serving.Fallback,
		RateLimits:    d.RateLimits.Runners(),
		Budget:        budgetConfig(d.Budget),
		Breaker:       breakerConfig(d.CircuitBreaker),
	}
	switch d.Serving.OnCapacityExhausted {
	case config.CapacityReject:
		spec.OnCapacity = actors.CapacityReject
	case config.CapacityFallback:
		spec.OnCapacity = actors.CapacityFallback
	default:
		spec.OnCapacity = actors.CapacityQueue
	}
	return spec, nil
}

func runnerFactory(d *config.Deployment, logger *slog.Logger) (func(int) (runners.ModelRunner, error), error) {
	switch d.Runtime {
	case runners.RuntimeFake:
		return func(int) (runners.ModelRunner, error) {
			return fake.New(fake.WithModel(d.Model)), nil
		}, nil
	case runners.RuntimeCUDA:
		return nil, fmt.Errorf("runtime %q needs a binary built with -tags cuda (go build -tags cuda ./cmd/actorinfer)", d.Runtime)
	}
	return nil, fmt.Errorf("runtime %q is not available in this build", d.Runtime)
}

func budgetConfig(b config.Budget) actors.BudgetConfig {
	out := actors.BudgetConfig{MaxSpendPerHour: b.MaxSpendPerHour, MaxSpendPerDay: b.MaxSpendPerDay}
	switch b.OnExceeded {
	case config.BudgetWarn:
		out.OnExceeded = actors.OnExceededWarn
	case config.BudgetThrottle:
		out.OnExceeded = actors.OnExceededThrottle
	default:
		out.OnExceeded = actors.OnExceededReject
	}
	// unknown_price = "estimate" is applied by the runner, which prices
	// unknown models at budget.estimate_price; what reaches the budget with
	// an unknown price is denied.
	return out
}

func breakerConfig(c config.CircuitBreaker) actors.BreakerConfig {
	return actors.BreakerConfig{
		FailureThreshold: c.FailureThreshold,
		OpenDuration:     c.OpenDuration.Duration(),
		HalfOpenProbes:   c.HalfOpenProbes,
	}
}
