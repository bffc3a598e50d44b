package config

import (
	"fmt"
	"runtime"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

// The documented defaults (docs/config.md lists them all).
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultMaxBodyBytes      = 8 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second

	DefaultClusterName   = "actorinfer"
	DefaultClusterListen = "127.0.0.1:7400"

	DefaultOpenAIEndpoint    = "https://api.openai.com/v1"
	DefaultAnthropicEndpoint = "https://api.anthropic.com"
	DefaultGeminiEndpoint    = "https://generativelanguage.googleapis.com"
	DefaultAzureAPIVersion   = "2024-10-21"

	DefaultReplicas         = 1
	DefaultMaxRetries       = 3
	DefaultInitialBackoff   = time.Second
	DefaultMaxBackoff       = 60 * time.Second
	DefaultFailureThreshold = 10
	DefaultOpenDuration     = 30 * time.Second
	DefaultHalfOpenProbes   = 1
	DefaultConnectTimeout   = 5 * time.Second
	// Reasoning models can think for minutes before their first token.
	DefaultFirstTokenTimeout = 10 * time.Minute
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultTotalTimeout      = 30 * time.Minute
	DefaultMaxConcurrent     = 50
	DefaultQueueSize         = 1024
	DefaultMaxBatch          = 8
)

// vertexEndpoint is Vertex AI's base URL for a location.
func vertexEndpoint(location string) string {
	if location == "global" {
		return "https://aiplatform.googleapis.com"
	}
	return fmt.Sprintf("https://%s-aiplatform.googleapis.com", location)
}

func setDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func setInt[T int | int64](n *T, def T) {
	if *n == 0 {
		*n = def
	}
}

func setStr[T ~string](s *T, def T) {
	if *s == "" {
		*s = def
	}
}

// ApplyDefaults replaces every zero value that has a documented default
// with that default, infers runtimes, and records on each Secret the key
// that holds it. It is idempotent, never overwrites a set value, and does
// not validate: a value it cannot default (an uninferable runtime, say) is
// left for Validate to report. Parse, Load and Validate call it.
func (c *Config) ApplyDefaults() {
	s := &c.Server
	setStr(&s.Listen, DefaultListen)
	setInt(&s.MaxBodyBytes, DefaultMaxBodyBytes)
	setDur(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&s.ShutdownTimeout, DefaultShutdownTimeout)
	if s.Admin.Enabled == nil {
		t := true
		s.Admin.Enabled = &t
	}
	for i := range s.APIKeys {
		s.APIKeys[i].key = fmt.Sprintf("server.api_keys[%d]", i)
	}

	if cl := c.Cluster; cl != nil {
		setStr(&cl.Name, DefaultClusterName)
		setStr(&cl.Provider, ProviderAutomanaged)
		setStr(&cl.Listen, DefaultClusterListen)
		if cl.Roles == nil {
			cl.Roles = []Role{RoleGPU, RoleEgress}
		}
	}

	for i := range c.Deployments {
		c.Deployments[i].applyDefaults(deploymentPath(i, c.Deployments[i].Name))
	}
	for i := range c.Routers {
		c.Routers[i].applyDefaults()
	}
}

func deploymentPath(i int, name string) string {
	return fmt.Sprintf("deployment[%d] (%q)", i, name)
}

func routerPath(i int, name string) string {
	return fmt.Sprintf("router[%d] (%q)", i, name)
}

func (d *Deployment) applyDefaults(path string) {
	setStr(&d.Model, d.Name)
	if d.Runtime == "" {
		if k, ok := InferRuntime(d.Model); ok {
			d.Runtime = k
		} else if k, ok := InferRuntime(d.ModelPath); ok && d.ModelPath != "" {
			d.Runtime = k
		}
	}
	d.APIKey.key = path + ".api_key"
	d.Token.key = path + ".token"

	switch d.Runtime {
	case runners.RuntimeOpenAI:
		setStr(&d.Endpoint, DefaultOpenAIEndpoint)
	case runners.RuntimeAnthropic:
		setStr(&d.Endpoint, DefaultAnthropicEndpoint)
	case runners.RuntimeGemini:
		if d.IsVertex() {
			if regionName.MatchString(d.Location) {
				setStr(&d.Endpoint, vertexEndpoint(d.Location))
			}
		} else {
			setStr(&d.Endpoint, DefaultGeminiEndpoint)
		}
	case runners.RuntimeAzureOpenAI:
		setStr(&d.APIVersion, DefaultAzureAPIVersion)
		setStr(&d.AzureDeployment, d.Model)
		setStr(&d.Auth, AuthAPIKey)
	case runners.RuntimeLiteLLM:
		setStr(&d.Provider, runners.ProviderLiteLLM)
	case runners.RuntimeLocal, runners.RuntimeCUDA:
		if d.ModelPath == "" && isModelFile(d.Model) {
			d.ModelPath = d.Model
		}
		setInt(&d.Threads, runtime.NumCPU())
		setInt(&d.MaxBatch, DefaultMaxBatch)
		setStr(&d.ChatTemplate, TemplateAuto)
	}

	setInt(&d.Replicas, DefaultReplicas)
	if d.Idempotent == nil {
		t := true
		d.Idempotent = &t
	}
	r := &d.Retry
	if r.MaxRetries == nil {
		n := DefaultMaxRetries
		r.MaxRetries = &n
	}
	setDur(&r.InitialBackoff, DefaultInitialBackoff)
	setDur(&r.MaxBackoff, DefaultMaxBackoff)
	if r.RespectRetryAfter == nil {
		t := true
		r.RespectRetryAfter = &t
	}
	b := &d.CircuitBreaker
	setInt(&b.FailureThreshold, DefaultFailureThreshold)
	setDur(&b.OpenDuration, DefaultOpenDuration)
	setInt(&b.HalfOpenProbes, DefaultHalfOpenProbes)
	t := &d.Timeouts
	setDur(&t.Connect, DefaultConnectTimeout)
	setDur(&t.FirstToken, DefaultFirstTokenTimeout)
	setDur(&t.Idle, DefaultIdleTimeout)
	setDur(&t.Total, DefaultTotalTimeout)
	sv := &d.Serving
	setInt(&sv.MaxConcurrent, DefaultMaxConcurrent)
	setInt(&sv.QueueSize, DefaultQueueSize)
	setStr(&sv.OnCapacityExhausted, CapacityQueue)
	setStr(&d.Budget.OnExceeded, BudgetReject)
	setStr(&d.Budget.UnknownPrice, PriceDeny)
}

func (r *Router) applyDefaults() {
	switch r.Kind {
	case RouterTiered:
		if len(r.Tiers) == 0 {
			for _, m := range r.Members {
				r.Tiers = append(r.Tiers, Tier{Name: m, Deployment: m})
			}
			r.tiersDerived = len(r.Tiers) > 0
		}
		if len(r.Members) == 0 {
			for _, t := range r.Tiers {
				r.Members = append(r.Members, t.Deployment)
			}
			r.membersDerived = len(r.Members) > 0
		}
		if r.DefaultTier == "" && len(r.Tiers) > 0 {
			r.DefaultTier = r.Tiers[0].Name
		}
	case RouterFallback:
		if r.FallbackOn == nil {
			r.FallbackOn = DefaultFallbackOn()
		}
	case RouterCascade:
		if r.Escalation.On == nil {
			r.Escalation.On = []string{EscalateFinishLength, EscalateEmpty}
			if len(r.Escalation.RefusalPatterns) > 0 {
				r.Escalation.On = append(r.Escalation.On, EscalateRefusal)
			}
		}
	}
}
