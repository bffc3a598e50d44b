package main

import (
	"fmt"
	"log/slog"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/anthropic"
	"github.com/actorinfer/actorinfer/runners/fake"
	"github.com/actorinfer/actorinfer/runners/gemini"
	"github.com/actorinfer/actorinfer/runners/httpapi"
	"github.com/actorinfer/actorinfer/runners/local"
	"github.com/actorinfer/actorinfer/runners/openai"
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
	log := logger.With("deployment", d.Name)
	switch d.Runtime {
	case runners.RuntimeFake:
		return func(int) (runners.ModelRunner, error) {
			return fake.New(fake.WithModel(d.Model)), nil
		}, nil
	case runners.RuntimeLocal:
		cfg := local.Config{
			ModelPath: d.ModelPath, TokenizerPath: d.TokenizerPath, Threads: d.Threads,
			MaxBatch: d.MaxBatch, ContextLength: d.ContextLength, Model: d.Model,
		}
		if d.ChatTemplate == config.TemplateLlama2 {
			cfg.ChatTemplate = local.TemplateLlama2
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return func(int) (runners.ModelRunner, error) { return local.New(cfg) }, nil
	case runners.RuntimeCUDA:
		return cudaFactory(d, log)
	case runners.RuntimeOpenAI, runners.RuntimeAzureOpenAI, runners.RuntimeLiteLLM:
		cfg := openai.Config{Config: httpConfig(d), Runtime: d.Runtime,
			APIVersion: d.APIVersion, AzureDeployment: d.AzureDeployment}
		if d.Runtime == runners.RuntimeAzureOpenAI {
			cfg.Auth = openai.AzureAuthAPIKey
			if d.Auth == config.AuthEntra {
				cfg.Auth, cfg.Token = openai.AzureAuthEntra, secret(d.Token)
			}
		}
		return func(int) (runners.ModelRunner, error) {
			return openai.New(openai.Static(cfg), openai.Options{Logger: log})
		}, nil
	case runners.RuntimeAnthropic:
		cfg := anthropic.Config{Config: httpConfig(d)}
		return func(int) (runners.ModelRunner, error) { return anthropic.New(cfg, anthropic.Options{}) }, nil
	case runners.RuntimeGemini:
		cfg := gemini.Config{Config: httpConfig(d)}
		if d.IsVertex() {
			cfg.Vertex, cfg.Project, cfg.Location = true, d.Project, d.Location
			cfg.Token = gemini.SecretToken{Secret: secret(d.Token)}
		}
		return func(int) (runners.ModelRunner, error) { return gemini.New(cfg, gemini.Options{}) }, nil
	}
	return nil, fmt.Errorf("runtime %q is not available in this build", d.Runtime)
}

// httpConfig maps the keys every remote runtime shares.
func httpConfig(d *config.Deployment) httpapi.Config {
	c := httpapi.Config{
		Provider: d.Transport().Provider,
		Endpoint: d.Endpoint,
		APIKey:   secret(d.APIKey),
		Model:    d.Model,
		Timeouts: httpapi.Timeouts{
			Connect: d.Timeouts.Connect.Duration(), FirstToken: d.Timeouts.FirstToken.Duration(),
			Idle: d.Timeouts.Idle.Duration(), Total: d.Timeouts.Total.Duration(),
		},
		Retry: httpapi.RetryPolicy{
			MaxRetries: d.Retry.Retries(), NoRetries: d.Retry.Retries() == 0,
			InitialBackoff: d.Retry.InitialBackoff.Duration(), MaxBackoff: d.Retry.MaxBackoff.Duration(),
			IgnoreRetryAfter: !d.Retry.RespectsRetryAfter(),
		},
		NonIdempotent: !d.IsIdempotent(),
		Headers:       d.Headers,
	}
	if rl := d.RateLimits.Runners(); rl != nil {
		c.RateLimits = *rl
	}
	if p := d.Pricing; p != nil {
		c.Pricing = price(p)
	}
	if p := d.Budget.EstimatePrice; p != nil && d.Budget.UnknownPrice == config.PriceEstimate {
		// Models missing from the built-in table are priced at
		// estimate_price; known models keep their table price.
		c.FallbackPricing = price(p)
	}
	return c
}

func price(p *config.Pricing) *httpapi.Price {
	return &httpapi.Price{Input: p.Input, Output: p.Output, CachedInput: p.CachedInput, CacheWrite: p.CacheWrite}
}

// secret maps a config secret reference onto the runners' form. Env and
// file references stay references, so a session rebuild re-reads them.
func secret(s config.Secret) httpapi.Secret {
	if s.IsInline() {
		v, _ := s.Resolve()
		return httpapi.Secret{Inline: v}
	}
	return httpapi.Secret{FromEnv: s.FromEnv, FromFile: s.FromFile}
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
