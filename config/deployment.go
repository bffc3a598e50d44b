package config

import (
	"path"
	"strings"

	"github.com/actorinfer/actorinfer/runners"
)

// Deployment is one [[deployment]] table: a model served by one runtime,
// with its replicas, limits and policies. The zero value of every field
// means the documented default (see docs/config.md); ApplyDefaults fills
// them in.
type Deployment struct {
	// Name is the model name clients send. Required; no "/" (routers use
	// "router/tier") and no whitespace.
	Name string `toml:"name"`
	// Model is the provider's model id (or, for local runtimes, a label or
	// the model file). Default: Name.
	Model string `toml:"model"`
	// Runtime runs the model. Default: inferred from Model (see
	// InferRuntime), else required.
	Runtime runners.RuntimeKind `toml:"runtime"`
	// Endpoint is the provider's base URL as its official SDK takes it.
	// Default per runtime (openai, anthropic, gemini); required for
	// azure-openai and litellm; refused for local, cuda and fake.
	Endpoint string `toml:"endpoint"`
	// APIKey is the provider credential. Required for openai, anthropic and
	// gemini (AI Studio) on their default endpoints and for azure-openai with
	// auth "api-key"; optional for litellm and custom endpoints.
	APIKey Secret `toml:"api_key"`
	// Provider labels an OpenAI-compatible server for metrics and
	// placement: "litellm" (default) or "openai-compatible". litellm only.
	Provider runners.ProviderKind `toml:"provider"`
	// Headers are extra HTTP headers sent with every upstream request.
	// Not for credentials: Authorization, api-key, x-api-key and
	// x-goog-api-key are refused. Remote runtimes only.
	Headers map[string]string `toml:"headers"`

	// Replicas is the number of RunnerActors. Default 1.
	Replicas int `toml:"replicas"`
	// Idempotent lets a request that hit a session fault be retried once on
	// the rebuilt session. Default true.
	Idempotent *bool `toml:"idempotent"`

	RateLimits     RateLimits     `toml:"rate_limits"`
	Retry          Retry          `toml:"retry"`
	CircuitBreaker CircuitBreaker `toml:"circuit_breaker"`
	Timeouts       Timeouts       `toml:"timeouts"`
	Serving        Serving        `toml:"serving"`
	Budget         Budget         `toml:"budget"`
	// Pricing overrides the built-in price table. Nil: use the table.
	Pricing *Pricing `toml:"pricing"`

	// Local runtimes (local, cuda).

	// ModelPath is the llama2.c .bin or .gguf checkpoint, relative to the
	// working directory. Required; defaults to Model when Model ends in .bin
	// or .gguf. The file is opened by the runner on the node that hosts it,
	// not by Validate.
	ModelPath string `toml:"model_path"`
	// TokenizerPath is the llama2.c tokenizer.bin; GGUF files carry their own.
	TokenizerPath string `toml:"tokenizer_path"`
	// Threads is the number of CPU threads. Default runtime.NumCPU().
	Threads int `toml:"threads"`
	// MaxBatch is the most sequences decoded together. Default 8.
	MaxBatch int `toml:"max_batch"`
	// ContextLength caps the context in tokens. Zero: the model's own.
	ContextLength int `toml:"context_length"`
	// ChatTemplate is "auto" (default: the model's own, else none), "none"
	// (continue the text verbatim) or "llama2".
	ChatTemplate ChatTemplate `toml:"chat_template"`

	// Azure OpenAI (runtime azure-openai).

	// APIVersion is the api-version query parameter. Default "2024-10-21".
	APIVersion string `toml:"api_version"`
	// AzureDeployment is the Azure deployment name. Default: Model.
	AzureDeployment string `toml:"azure_deployment"`
	// Auth is "api-key" (default; APIKey required) or "entra" (Token required).
	Auth AzureAuth `toml:"auth"`

	// Gemini on Vertex AI (runtime gemini with project and location).

	// Project is the Google Cloud project. Setting it selects Vertex AI.
	Project string `toml:"project"`
	// Location is the Vertex AI region, e.g. "us-central1". Required with Project.
	Location string `toml:"location"`
	// Token is an OAuth bearer token: Vertex AI, or Azure with auth "entra".
	Token Secret `toml:"token"`

	// written holds the keys a parsed file set, so that a key that does not
	// apply to the runtime is refused even when set to its zero value.
	written map[string]bool
}

// IsIdempotent reports whether requests may be retried after a session
// fault (nil means true).
func (d *Deployment) IsIdempotent() bool { return d.Idempotent == nil || *d.Idempotent }

// IsVertex reports whether a gemini deployment targets Vertex AI.
func (d *Deployment) IsVertex() bool {
	return d.Runtime == runners.RuntimeGemini && (d.Project != "" || d.Location != "")
}

// IsRemote reports whether the runtime calls a provider over the network.
func (d *Deployment) IsRemote() bool { return IsRemoteRuntime(d.Runtime) }

// Transport returns where the deployment's work runs, for placement.
func (d *Deployment) Transport() runners.TransportKind {
	switch d.Runtime {
	case runners.RuntimeCUDA:
		return runners.TransportLocalGPU()
	case runners.RuntimeLocal, runners.RuntimeFake:
		return runners.TransportLocalCPU()
	case runners.RuntimeLiteLLM:
		p := d.Provider
		if p == "" {
			p = runners.ProviderLiteLLM
		}
		return runners.TransportRemote(p)
	}
	return runners.TransportRemote(runners.ProviderKind(d.Runtime))
}

// WeightSource returns the weights a local deployment loads: LocalPath for
// local and cuda, RuntimeManaged otherwise.
func (d *Deployment) WeightSource() runners.WeightSource {
	if d.Runtime == runners.RuntimeLocal || d.Runtime == runners.RuntimeCUDA {
		return runners.WeightSource{Kind: runners.LocalPath, Path: d.ModelPath, TokenizerPath: d.TokenizerPath}
	}
	return runners.WeightSource{}
}

// Runtimes returns every runtime the config accepts, in documentation
// order, as a fresh slice. "fake" is the deterministic in-memory runner, for
// tests and the out-of-box demo.
func Runtimes() []runners.RuntimeKind {
	return []runners.RuntimeKind{
		runners.RuntimeOpenAI, runners.RuntimeAzureOpenAI, runners.RuntimeAnthropic,
		runners.RuntimeGemini, runners.RuntimeLiteLLM, runners.RuntimeLocal,
		runners.RuntimeCUDA, runners.RuntimeFake,
	}
}

// IsRemoteRuntime reports whether k calls a provider over the network.
func IsRemoteRuntime(k runners.RuntimeKind) bool {
	switch k {
	case runners.RuntimeOpenAI, runners.RuntimeAzureOpenAI, runners.RuntimeAnthropic,
		runners.RuntimeGemini, runners.RuntimeLiteLLM:
		return true
	}
	return false
}

// InferRuntime guesses the runtime from a model id or file name, as used
// when a deployment omits runtime:
//
//	gpt-*, chatgpt-*, o1*, o3*, o4*   openai
//	claude-*                          anthropic
//	gemini-*                          gemini
//	*.bin, *.gguf                     local
//
// Matching ignores case. It reports false when nothing matches.
func InferRuntime(model string) (runners.RuntimeKind, bool) {
	m := strings.ToLower(strings.TrimSpace(model))
	switch {
	case m == "":
		return "", false
	case isModelFile(m):
		return runners.RuntimeLocal, true
	case strings.HasPrefix(m, "gpt-"), strings.HasPrefix(m, "chatgpt-"),
		strings.HasPrefix(m, "o1"), strings.HasPrefix(m, "o3"), strings.HasPrefix(m, "o4"):
		return runners.RuntimeOpenAI, true
	case strings.HasPrefix(m, "claude-"):
		return runners.RuntimeAnthropic, true
	case strings.HasPrefix(m, "gemini-"):
		return runners.RuntimeGemini, true
	}
	return "", false
}

// isModelFile reports whether name ends in a checkpoint extension.
func isModelFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".bin", ".gguf":
		return true
	}
	return false
}

// RateLimits is [deployment.rate_limits]. Zero on an axis means no limit
// on that axis (the default).
type RateLimits struct {
	RequestsPerMinute  float64 `toml:"requests_per_minute"`
	TokensPerMinute    float64 `toml:"tokens_per_minute"`
	ConcurrentRequests int     `toml:"concurrent_requests"`
}

// Runners returns the limits as runners.RateLimits, or nil when none is set.
func (l RateLimits) Runners() *runners.RateLimits {
	r := &runners.RateLimits{
		RequestsPerMinute:  l.RequestsPerMinute,
		TokensPerMinute:    l.TokensPerMinute,
		ConcurrentRequests: l.ConcurrentRequests,
	}
	if r.IsZero() {
		return nil
	}
	return r
}

// Retry is [deployment.retry]: retries of transient provider errors (429,
// 5xx, timeouts) inside the request path, with exponential backoff.
type Retry struct {
	// MaxRetries is the number of retries after the first attempt.
	// Default 3; 0 disables retries.
	MaxRetries *int `toml:"max_retries"`
	// InitialBackoff is the first backoff. Default 1s.
	InitialBackoff Duration `toml:"initial_backoff"`
	// MaxBackoff caps the backoff. Default 60s.
	MaxBackoff Duration `toml:"max_backoff"`
	// RespectRetryAfter waits as long as the provider's Retry-After says
	// (a hint beyond MaxBackoff or the deadline fails at once with it). Default true.
	RespectRetryAfter *bool `toml:"respect_retry_after"`
}

// Retries returns MaxRetries (nil means 3).
func (r Retry) Retries() int {
	if r.MaxRetries == nil {
		return DefaultMaxRetries
	}
	return *r.MaxRetries
}

// RespectsRetryAfter returns RespectRetryAfter (nil means true).
func (r Retry) RespectsRetryAfter() bool { return r.RespectRetryAfter == nil || *r.RespectRetryAfter }

// CircuitBreaker is [deployment.circuit_breaker], per (provider, endpoint).
type CircuitBreaker struct {
	// FailureThreshold is the consecutive failures that open it. Default 10.
	FailureThreshold int `toml:"failure_threshold"`
	// OpenDuration is how long it stays open before probing. Default 30s.
	OpenDuration Duration `toml:"open_duration"`
	// HalfOpenProbes is the requests let through while half-open. Default 1.
	HalfOpenProbes int `toml:"half_open_probes"`
}

// Timeouts is [deployment.timeouts]. Reasoning models think for minutes
// before their first token, hence the long defaults.
type Timeouts struct {
	// Connect bounds dialing the provider. Default 5s.
	Connect Duration `toml:"connect"`
	// FirstToken bounds the wait for the first token. Default 10m.
	FirstToken Duration `toml:"first_token"`
	// Idle bounds the gap between two tokens. Default 5m.
	Idle Duration `toml:"idle"`
	// Total bounds the whole upstream request, retries included. Default 30m.
	Total Duration `toml:"total"`
}

// OnCapacity says what happens when a deployment is at max_concurrent.
type OnCapacity string

// The capacity policies.
const (
	// CapacityQueue waits in the queue; when the queue is full too, the
	// fallback list is tried if set, else the request is rejected (429).
	CapacityQueue OnCapacity = "queue"
	// CapacityReject rejects at once with 429 backpressure.
	CapacityReject OnCapacity = "reject"
	// CapacityFallback sends the request down the fallback list at once.
	CapacityFallback OnCapacity = "fallback"
)

// Serving is [deployment.serving]: admission and backpressure.
type Serving struct {
	// MaxConcurrent is the requests in flight across replicas. Default 50.
	MaxConcurrent int `toml:"max_concurrent"`
	// QueueSize is the requests waiting for a slot. Default 1024.
	QueueSize int `toml:"queue_size"`
	// OnCapacityExhausted is "queue" (default), "reject" or "fallback".
	OnCapacityExhausted OnCapacity `toml:"on_capacity_exhausted"`
	// Fallback lists deployments or routers tried, in order, when capacity
	// is exhausted. Required with "fallback"; refused with "reject".
	Fallback []string `toml:"fallback"`
}

// OnExceeded says what happens when a budget is spent.
type OnExceeded string

// The budget policies.
const (
	// BudgetReject rejects requests (429 budget_exceeded) until the window resets.
	BudgetReject OnExceeded = "reject"
	// BudgetWarn admits requests and reports the overspend in metrics.
	BudgetWarn OnExceeded = "warn"
	// BudgetThrottle admits requests at the rate that keeps spend at the cap.
	BudgetThrottle OnExceeded = "throttle"
)

// UnknownPrice says how a budget treats a model with no known price.
type UnknownPrice string

// The unknown-price policies.
const (
	// PriceDeny refuses requests whose cost cannot be estimated.
	PriceDeny UnknownPrice = "deny"
	// PriceEstimate prices them at Budget.EstimatePrice.
	PriceEstimate UnknownPrice = "estimate"
)

// Budget is [deployment.budget]. A zero cap means no cap (the default).
type Budget struct {
	// MaxSpendPerHour caps USD spent per rolling hour.
	MaxSpendPerHour float64 `toml:"max_spend_per_hour"`
	// MaxSpendPerDay caps USD spent per rolling day.
	MaxSpendPerDay float64 `toml:"max_spend_per_day"`
	// OnExceeded is "reject" (default), "warn" or "throttle".
	OnExceeded OnExceeded `toml:"on_exceeded"`
	// UnknownPrice is "deny" (default) or "estimate".
	UnknownPrice UnknownPrice `toml:"unknown_price"`
	// EstimatePrice prices an unknown model; required with "estimate".
	EstimatePrice *Pricing `toml:"estimate_price"`
}

// HasCap reports whether any spending cap is set.
func (b Budget) HasCap() bool { return b.MaxSpendPerHour > 0 || b.MaxSpendPerDay > 0 }

// Pricing is a price table entry in USD per million tokens.
type Pricing struct {
	Input  float64 `toml:"input"`
	Output float64 `toml:"output"`
	// CachedInput prices input tokens read from the provider's prompt
	// cache. Zero: billed at Input.
	CachedInput float64 `toml:"cached_input"`
	// CacheWrite prices input tokens written to the prompt cache. Zero:
	// billed at Input.
	CacheWrite float64 `toml:"cache_write"`
}

// ChatTemplate names how a local model turns messages into a prompt.
type ChatTemplate string

// The chat templates.
const (
	// TemplateAuto uses the model's own template if it has one, else none.
	TemplateAuto ChatTemplate = "auto"
	// TemplateNone continues the text verbatim: BOS and the last user message.
	TemplateNone ChatTemplate = "none"
	// TemplateLlama2 is the Llama-2-chat [INST] format.
	TemplateLlama2 ChatTemplate = "llama2"
)

// AzureAuth names how an azure-openai deployment authenticates.
type AzureAuth string

// The Azure auth modes.
const (
	// AuthAPIKey sends APIKey in the api-key header.
	AuthAPIKey AzureAuth = "api-key"
	// AuthEntra sends Token as a Microsoft Entra ID bearer token.
	AuthEntra AzureAuth = "entra"
)
