package config

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/actorinfer/actorinfer/runners"
)

// regionName matches a Google Cloud region ("us-central1", "global").
var regionName = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)

// reservedHeaders carry credentials; runtimes set them from api_key/token.
var reservedHeaders = []string{"authorization", "api-key", "x-api-key", "x-goog-api-key", "host", "content-length"}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

func runtimeNames() []string {
	rs := Runtimes()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func (v *validator) deployment(i int, d *Deployment) {
	at := func(key string) string { return deploymentPath(i, d.Name) + "." + key }
	rt := d.Runtime
	if rt == "" {
		v.add(at("runtime"), ErrRequired,
			"cannot infer the runtime from model %q; set runtime to one of %s", d.Model, quoteList(runtimeNames()))
	} else if !v.enum(at("runtime"), string(rt), runtimeNames()...) {
		rt = "" // skip runtime-specific checks
	}
	remote := IsRemoteRuntime(rt)
	local := rt == runners.RuntimeLocal || rt == runners.RuntimeCUDA

	// Keys that only some runtimes take: refused elsewhere when set, or
	// written in the file even with a zero value.
	notFor := func(key string, applies, set bool, why string) {
		if !applies && (set || d.written[key]) && rt != "" {
			v.add(at(key), ErrConflict, "does not apply to runtime %q (%s)", rt, why)
		}
	}
	notFor("endpoint", remote, d.Endpoint != "", "remote runtimes only")
	notFor("api_key", remote, !d.APIKey.IsZero(), "remote runtimes only")
	notFor("headers", remote, len(d.Headers) > 0, "remote runtimes only")
	notFor("provider", rt == runners.RuntimeLiteLLM, d.Provider != "", "litellm only")
	for _, k := range []struct {
		key string
		set bool
	}{
		{"model_path", d.ModelPath != ""}, {"tokenizer_path", d.TokenizerPath != ""},
		{"threads", d.Threads != 0}, {"max_batch", d.MaxBatch != 0},
		{"context_length", d.ContextLength != 0}, {"chat_template", d.ChatTemplate != ""},
	} {
		notFor(k.key, local, k.set, "local and cuda only")
	}
	azure := rt == runners.RuntimeAzureOpenAI
	notFor("api_version", azure, d.APIVersion != "", "azure-openai only")
	notFor("azure_deployment", azure, d.AzureDeployment != "", "azure-openai only")
	notFor("auth", azure, d.Auth != "", "azure-openai only")
	gemini := rt == runners.RuntimeGemini
	notFor("project", gemini, d.Project != "", "gemini on Vertex AI only")
	notFor("location", gemini, d.Location != "", "gemini on Vertex AI only")
	notFor("token", d.IsVertex() || azure && d.Auth == AuthEntra, !d.Token.IsZero(),
		`gemini on Vertex AI and azure-openai with auth = "entra" only`)

	v.secretShape(at("api_key"), d.APIKey)
	v.secretShape(at("token"), d.Token)

	if remote {
		if d.Endpoint == "" {
			if rt == runners.RuntimeGemini && d.IsVertex() {
				// Reported below as a missing or invalid location.
			} else {
				v.add(at("endpoint"), ErrRequired, "runtime %q has no default endpoint; set the provider's base URL", rt)
			}
		} else {
			v.baseURL(at("endpoint"), d.Endpoint)
		}
		for _, h := range sortedStringKeys(d.Headers) {
			hp := at("headers." + quoteKey(h))
			switch {
			case !validHeaderName(h):
				v.add(hp, ErrInvalid, "%q is not a valid HTTP header name", h)
			case slices.Contains(reservedHeaders, strings.ToLower(h)):
				v.add(hp, ErrConflict, "header %q is set by the runtime (credentials come from api_key or token)", h)
			case strings.ContainsAny(d.Headers[h], "\r\n\x00"):
				v.add(hp, ErrInvalid, "header value must not contain CR, LF or NUL")
			}
		}
	}
	switch rt {
	case runners.RuntimeOpenAI, runners.RuntimeAnthropic:
		if d.APIKey.IsZero() && isDefaultEndpoint(d) {
			v.add(at("api_key"), ErrRequired, "runtime %q on %s needs an api_key", rt, d.Endpoint)
		}
	case runners.RuntimeGemini:
		if d.IsVertex() {
			if d.Project == "" {
				v.add(at("project"), ErrRequired, "Vertex AI needs project with location")
			}
			if d.Location == "" {
				v.add(at("location"), ErrRequired, "Vertex AI needs location with project")
			} else if !regionName.MatchString(d.Location) {
				v.add(at("location"), ErrInvalid, "must be a region like \"us-central1\" or \"global\", got %q", d.Location)
			}
			if d.Token.IsZero() {
				v.add(at("token"), ErrRequired, "Vertex AI needs a bearer token")
			}
			if !d.APIKey.IsZero() {
				v.add(at("api_key"), ErrConflict, "Vertex AI authenticates with token, not api_key")
			}
		} else if d.APIKey.IsZero() && isDefaultEndpoint(d) {
			v.add(at("api_key"), ErrRequired, "runtime \"gemini\" on %s needs an api_key", d.Endpoint)
		}
	case runners.RuntimeAzureOpenAI:
		if v.enum(at("auth"), string(d.Auth), string(AuthAPIKey), string(AuthEntra)) {
			switch d.Auth {
			case AuthAPIKey:
				if d.APIKey.IsZero() {
					v.add(at("api_key"), ErrRequired, `auth "api-key" needs an api_key`)
				}
			case AuthEntra:
				if d.Token.IsZero() {
					v.add(at("token"), ErrRequired, `auth "entra" needs a token`)
				}
				if !d.APIKey.IsZero() {
					v.add(at("api_key"), ErrConflict, `auth "entra" authenticates with token, not api_key`)
				}
			}
		}
		if strings.TrimSpace(d.APIVersion) == "" {
			v.add(at("api_version"), ErrRequired, "must not be blank")
		}
	case runners.RuntimeLiteLLM:
		v.enum(at("provider"), string(d.Provider), string(runners.ProviderLiteLLM), string(runners.ProviderOpenAICompatible))
	case runners.RuntimeLocal, runners.RuntimeCUDA:
		if d.ModelPath == "" {
			v.add(at("model_path"), ErrRequired, "runtime %q needs model_path (a llama2.c .bin or a .gguf file)", rt)
		}
		v.atLeastOne(at("threads"), d.Threads)
		v.atLeastOne(at("max_batch"), d.MaxBatch)
		v.nonNegInt(at("context_length"), d.ContextLength)
		v.enum(at("chat_template"), string(d.ChatTemplate), string(TemplateAuto), string(TemplateNone), string(TemplateLlama2))
	}

	v.atLeastOne(at("replicas"), d.Replicas)

	l := d.RateLimits
	v.nonNegFloat(at("rate_limits.requests_per_minute"), l.RequestsPerMinute)
	v.nonNegFloat(at("rate_limits.tokens_per_minute"), l.TokensPerMinute)
	v.nonNegInt(at("rate_limits.concurrent_requests"), l.ConcurrentRequests)

	r := d.Retry
	v.nonNegInt(at("retry.max_retries"), r.Retries())
	v.positiveDur(at("retry.initial_backoff"), r.InitialBackoff)
	v.positiveDur(at("retry.max_backoff"), r.MaxBackoff)
	if r.InitialBackoff > 0 && r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		v.add(at("retry.initial_backoff"), ErrConflict, "%v exceeds retry.max_backoff %v", r.InitialBackoff, r.MaxBackoff)
	}

	b := d.CircuitBreaker
	v.atLeastOne(at("circuit_breaker.failure_threshold"), b.FailureThreshold)
	v.positiveDur(at("circuit_breaker.open_duration"), b.OpenDuration)
	v.atLeastOne(at("circuit_breaker.half_open_probes"), b.HalfOpenProbes)

	t := d.Timeouts
	v.positiveDur(at("timeouts.connect"), t.Connect)
	v.positiveDur(at("timeouts.first_token"), t.FirstToken)
	v.positiveDur(at("timeouts.idle"), t.Idle)
	v.positiveDur(at("timeouts.total"), t.Total)
	if t.Total > 0 {
		for _, x := range []struct {
			key string
			d   Duration
		}{{"connect", t.Connect}, {"first_token", t.FirstToken}, {"idle", t.Idle}} {
			if x.d > t.Total {
				v.add(at("timeouts."+x.key), ErrConflict, "%v exceeds timeouts.total %v", x.d, t.Total)
			}
		}
	}

	s := d.Serving
	v.atLeastOne(at("serving.max_concurrent"), s.MaxConcurrent)
	v.atLeastOne(at("serving.queue_size"), s.QueueSize)
	if v.enum(at("serving.on_capacity_exhausted"), string(s.OnCapacityExhausted),
		string(CapacityQueue), string(CapacityReject), string(CapacityFallback)) {
		switch {
		case s.OnCapacityExhausted == CapacityFallback && len(s.Fallback) == 0:
			v.add(at("serving.fallback"), ErrRequired, `on_capacity_exhausted = "fallback" needs at least one fallback`)
		case s.OnCapacityExhausted == CapacityReject && len(s.Fallback) > 0:
			v.add(at("serving.fallback"), ErrConflict, `on_capacity_exhausted = "reject" never uses the fallback list`)
		}
	}
	v.references(at("serving.fallback"), d.Name, s.Fallback)

	bu := d.Budget
	v.nonNegFloat(at("budget.max_spend_per_hour"), bu.MaxSpendPerHour)
	v.nonNegFloat(at("budget.max_spend_per_day"), bu.MaxSpendPerDay)
	if bu.MaxSpendPerHour > 0 && bu.MaxSpendPerDay > 0 && bu.MaxSpendPerHour > bu.MaxSpendPerDay {
		v.add(at("budget.max_spend_per_hour"), ErrConflict, "%v exceeds budget.max_spend_per_day %v", bu.MaxSpendPerHour, bu.MaxSpendPerDay)
	}
	v.enum(at("budget.on_exceeded"), string(bu.OnExceeded), string(BudgetReject), string(BudgetWarn), string(BudgetThrottle))
	if v.enum(at("budget.unknown_price"), string(bu.UnknownPrice), string(PriceDeny), string(PriceEstimate)) {
		switch {
		case bu.UnknownPrice == PriceEstimate && (bu.EstimatePrice == nil || bu.EstimatePrice.Input <= 0 && bu.EstimatePrice.Output <= 0):
			v.add(at("budget.estimate_price"), ErrRequired, `unknown_price = "estimate" needs an estimate_price with input or output > 0`)
		case bu.UnknownPrice == PriceDeny && bu.EstimatePrice != nil:
			v.add(at("budget.estimate_price"), ErrConflict, `is only used with unknown_price = "estimate"`)
		}
	}
	if bu.EstimatePrice != nil {
		v.pricing(at("budget.estimate_price"), *bu.EstimatePrice)
	}
	if d.Pricing != nil {
		v.pricing(at("pricing"), *d.Pricing)
	}
}

func (v *validator) pricing(path string, pr Pricing) {
	v.nonNegFloat(path+".input", pr.Input)
	v.nonNegFloat(path+".output", pr.Output)
	v.nonNegFloat(path+".cached_input", pr.CachedInput)
	v.nonNegFloat(path+".cache_write", pr.CacheWrite)
}

// isDefaultEndpoint reports whether d targets its provider's public API.
func isDefaultEndpoint(d *Deployment) bool {
	switch d.Endpoint {
	case DefaultOpenAIEndpoint, DefaultAnthropicEndpoint, DefaultGeminiEndpoint:
		return true
	}
	return false
}

func sortedStringKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
