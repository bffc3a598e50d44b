package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/actorinfer/actorinfer/runners"
)

// Validate applies defaults (see ApplyDefaults) and reports every problem
// in c: impossible values, unknown enum values, bad combinations, duplicate
// names, dangling references, cycles, and secrets that cannot be resolved.
// It returns nil or the errors.Join of one *FieldError per problem; it never
// stops at the first, never warns and never clamps. Secrets are read (env
// and files) but their values are never part of an error.
func (c *Config) Validate() error {
	p := &problems{source: c.Source}
	c.validate(p, true)
	return p.err()
}

// validate applies defaults and checks c; resolveSecrets reads every secret.
func (c *Config) validate(p *problems, resolveSecrets bool) {
	c.ApplyDefaults()
	v := &validator{p: p, c: c}
	v.server()
	v.cluster()
	v.names()
	for i := range c.Deployments {
		v.deployment(i, &c.Deployments[i])
	}
	for i := range c.Routers {
		v.router(i, &c.Routers[i])
	}
	v.cycles()
	if resolveSecrets {
		for _, s := range c.secrets() {
			if s.IsZero() || s.sources() != 1 {
				continue // reported as a shape problem already
			}
			if _, err := s.Resolve(); err != nil {
				p.addErr(err.(*FieldError))
			}
		}
	}
}

// secrets returns every secret set in c.
func (c *Config) secrets() []Secret {
	out := append([]Secret(nil), c.Server.APIKeys...)
	for _, d := range c.Deployments {
		for _, s := range []Secret{d.APIKey, d.Token} {
			if !s.IsZero() {
				out = append(out, s)
			}
		}
	}
	return out
}

type validator struct {
	p *problems
	c *Config
}

func (v *validator) add(path string, kind error, format string, args ...any) {
	v.p.add(path, kind, format, args...)
}

func (v *validator) nonNegInt(path string, n int) {
	if n < 0 {
		v.add(path, ErrOutOfRange, "must be ≥ 0, got %d", n)
	}
}

func (v *validator) atLeastOne(path string, n int) {
	if n < 1 {
		v.add(path, ErrOutOfRange, "must be ≥ 1, got %d", n)
	}
}

func (v *validator) nonNegFloat(path string, f float64) {
	if f < 0 {
		v.add(path, ErrOutOfRange, "must be ≥ 0, got %v", f)
	}
}

func (v *validator) positiveDur(path string, d Duration) {
	if d <= 0 {
		v.add(path, ErrOutOfRange, "must be > 0, got %v", d)
	}
}

func (v *validator) enum(path string, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	if got == "" {
		v.add(path, ErrRequired, "must be one of %s", quoteList(allowed))
		return false
	}
	v.add(path, ErrInvalid, "must be one of %s, got %q", quoteList(allowed), got)
	return false
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// hostPort checks a host:port address with a numeric port.
func (v *validator) hostPort(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, ErrInvalid, "must be host:port, got %q", addr)
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		v.add(path, ErrInvalid, "port must be a number 0-65535, got %q", port)
		return
	}
	if strings.ContainsAny(host, " /") {
		v.add(path, ErrInvalid, "invalid host %q", host)
	}
}

// baseURL checks an http(s) URL with a host and no query or fragment.
func (v *validator) baseURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, ErrInvalid, "must be an http:// or https:// URL with a host, got %q", raw)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		v.add(path, ErrInvalid, "must be a base URL without query, fragment or user info, got %q", raw)
	}
}

// secretShape checks that s names exactly one source and, for one read
// from a file, that inline values were allowed (the caller passes that).
func (v *validator) secretShape(path string, s Secret) {
	if s.IsZero() && s.declared {
		v.add(path, ErrRequired, "empty secret reference: set from_env or from_file")
	}
	if s.sources() > 1 {
		v.add(path, ErrConflict, "set exactly one of from_env, from_file and value")
	}
}

// loopback reports whether a listen address only accepts local connections.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (v *validator) server() {
	s := &v.c.Server
	v.hostPort("server.listen", s.Listen)
	for i, k := range s.APIKeys {
		path := fmt.Sprintf("server.api_keys[%d]", i)
		if k.IsZero() && !k.declared {
			v.add(path, ErrRequired, "empty secret reference: set from_env or from_file")
		}
		v.secretShape(path, k)
	}
	if s.MaxBodyBytes < 0 {
		v.add("server.max_body_bytes", ErrOutOfRange, "must be > 0, got %d", s.MaxBodyBytes)
	}
	v.positiveDur("server.read_header_timeout", s.ReadHeaderTimeout)
	v.positiveDur("server.shutdown_timeout", s.ShutdownTimeout)
	if s.RequestTimeout < 0 {
		v.add("server.request_timeout", ErrOutOfRange, "must be ≥ 0 (0: no gateway-wide bound), got %v", s.RequestTimeout)
	}
	if _, _, err := net.SplitHostPort(s.Listen); err == nil && s.Admin.IsEnabled() && len(s.APIKeys) == 0 && !loopback(s.Listen) {
		v.add("server.admin.enabled", ErrConflict,
			"admin routes on the non-loopback address %q need server.api_keys; set api_keys or admin.enabled = false", s.Listen)
	}
}

func (v *validator) cluster() {
	cl := v.c.Cluster
	if cl == nil {
		return
	}
	if strings.TrimSpace(cl.Name) == "" {
		v.add("cluster.name", ErrRequired, "must not be blank")
	}
	v.enum("cluster.provider", string(cl.Provider), string(ProviderAutomanaged), string(ProviderEtcd))
	v.hostPort("cluster.listen", cl.Listen)
	for i, s := range cl.Seeds {
		v.hostPort(fmt.Sprintf("cluster.seeds[%d]", i), s)
	}
	for i, e := range cl.EtcdEndpoints {
		path := fmt.Sprintf("cluster.etcd_endpoints[%d]", i)
		if strings.Contains(e, "://") {
			v.baseURL(path, e)
		} else {
			v.hostPort(path, e)
		}
	}
	switch cl.Provider {
	case ProviderEtcd:
		if len(cl.EtcdEndpoints) == 0 {
			v.add("cluster.etcd_endpoints", ErrRequired, `provider "etcd" needs at least one endpoint`)
		}
		if len(cl.Seeds) > 0 {
			v.add("cluster.seeds", ErrConflict, `seeds are for provider "automanaged"; provider is "etcd"`)
		}
	case ProviderAutomanaged:
		if len(cl.EtcdEndpoints) > 0 {
			v.add("cluster.etcd_endpoints", ErrConflict, `etcd_endpoints are for provider "etcd"; provider is "automanaged"`)
		}
	}
	seen := map[Role]bool{}
	for i, r := range cl.Roles {
		path := fmt.Sprintf("cluster.roles[%d]", i)
		if !v.enum(path, string(r), string(RoleGPU), string(RoleEgress)) {
			continue
		}
		if seen[r] {
			v.add(path, ErrDuplicate, "role %q listed twice", r)
		}
		seen[r] = true
	}
}

// validName checks a deployment, router or tier name.
func (v *validator) validName(path, name string) {
	if name == "" {
		v.add(path, ErrRequired, "must be set")
		return
	}
	for _, r := range name {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			v.add(path, ErrInvalid, "must not contain %q, whitespace or control characters, got %q", "/", name)
			return
		}
	}
}

// names checks that deployment and router names are set and unique.
func (v *validator) names() {
	if len(v.c.Deployments) == 0 {
		v.add("deployment", ErrRequired, "at least one [[deployment]] is required")
	}
	seen := map[string]string{} // name -> path of first use
	check := func(path, name string) {
		v.validName(path, name)
		if name == "" {
			return
		}
		if first, dup := seen[name]; dup {
			v.add(path, ErrDuplicate, "name %q is already used by %s", name, strings.TrimSuffix(first, ".name"))
			return
		}
		seen[name] = path
	}
	for i, d := range v.c.Deployments {
		check(deploymentPath(i, d.Name)+".name", d.Name)
	}
	for i, r := range v.c.Routers {
		check(routerPath(i, r.Name)+".name", r.Name)
	}
}

// exists reports whether name is a deployment or a router.
func (v *validator) exists(name string) bool {
	if _, ok := v.c.Deployment(name); ok {
		return true
	}
	_, ok := v.c.Router(name)
	return ok
}

// references checks a list of deployment or router names.
func (v *validator) references(path, self string, names []string) {
	seen := map[string]bool{}
	for i, n := range names {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case n == "":
			v.add(ip, ErrRequired, "must name a deployment or router")
		case n == self:
			v.add(ip, ErrCycle, "%q refers to itself", n)
		case !v.exists(n):
			v.add(ip, ErrUnknownReference, "no deployment or router is named %q", n)
		case seen[n]:
			v.add(ip, ErrDuplicate, "%q listed twice", n)
		}
		seen[n] = true
	}
}

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
	out := make([]string, len(Runtimes))
	for i, r := range Runtimes {
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
				// Reported below as a missing location.
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

// fallbackCodes are the codes a fallback router may fall back on.
var fallbackCodes = append(slices.Clone(DefaultFallbackOn), "context_length_exceeded")

// neverFallback are codes that a different deployment would fail the same way.
var neverFallback = []string{"content_filtered", "bad_request", "unauthorized", "forbidden", "cancelled"}

func (v *validator) router(i int, r *Router) {
	at := func(key string) string { return routerPath(i, r.Name) + "." + key }
	kinds := []string{string(RouterTiered), string(RouterFallback), string(RouterCascade)}
	ok := v.enum(at("kind"), string(r.Kind), kinds...)

	if !r.membersDerived {
		v.references(at("members"), r.Name, r.Members)
	}
	if len(r.Members) == 0 {
		v.add(at("members"), ErrRequired, "must list at least one deployment or router")
	}
	if !ok {
		return
	}
	notFor := func(key string, set bool) {
		if set {
			v.add(at(key), ErrConflict, "does not apply to kind %q", r.Kind)
		}
	}
	notFor("tier", r.Kind != RouterTiered && len(r.Tiers) > 0)
	notFor("default_tier", r.Kind != RouterTiered && r.DefaultTier != "")
	notFor("fallback_on", r.Kind != RouterFallback && r.FallbackOn != nil)
	notFor("escalation", r.Kind != RouterCascade && (r.Escalation.On != nil || r.Escalation.RefusalPatterns != nil))

	switch r.Kind {
	case RouterTiered:
		names := map[string]bool{}
		var deps []string
		// When members and tiers say the same, problems go under members.
		fromMembers := r.tiersDerived || (!r.membersDerived && slices.Equal(r.Members, tierDeployments(r.Tiers)))
		for j, t := range r.Tiers {
			tp := fmt.Sprintf("%s[%d] (%q)", at("tier"), j, t.Name)
			v.validName(tp+".name", t.Name)
			if names[t.Name] && t.Name != "" {
				v.add(tp+".name", ErrDuplicate, "tier %q defined twice", t.Name)
			}
			names[t.Name] = true
			switch {
			case fromMembers:
				// Reported at members.
			case t.Deployment == "":
				v.add(tp+".deployment", ErrRequired, "must name a deployment or router")
			case t.Deployment == r.Name:
				v.add(tp+".deployment", ErrCycle, "%q refers to itself", t.Deployment)
			case !v.exists(t.Deployment):
				v.add(tp+".deployment", ErrUnknownReference, "no deployment or router is named %q", t.Deployment)
			}
			v.nonNegFloat(tp+".max_cost_per_request", t.MaxCostPerRequest)
			deps = append(deps, t.Deployment)
		}
		if !r.tiersDerived && !r.membersDerived && !slices.Equal(r.Members, deps) {
			v.add(at("members"), ErrConflict, "give members or [[router.tier]], not both (members must equal the tiers' deployments, got %s vs %s)",
				quoteList(r.Members), quoteList(deps))
		}
		if r.DefaultTier != "" && !names[r.DefaultTier] {
			v.add(at("default_tier"), ErrUnknownReference, "no tier is named %q", r.DefaultTier)
		}
	case RouterFallback:
		if len(r.Members) == 1 {
			v.add(at("members"), ErrOutOfRange, "a fallback chain needs at least 2 members, got 1")
		}
		if len(r.FallbackOn) == 0 {
			v.add(at("fallback_on"), ErrRequired, "must list at least one error code")
		}
		seen := map[string]bool{}
		for j, code := range r.FallbackOn {
			cp := fmt.Sprintf("%s[%d]", at("fallback_on"), j)
			if slices.Contains(neverFallback, code) {
				v.add(cp, ErrInvalid, "%q is never retried elsewhere: another deployment fails it the same way", code)
				continue
			}
			if v.enum(cp, code, fallbackCodes...) && seen[code] {
				v.add(cp, ErrDuplicate, "%q listed twice", code)
			}
			seen[code] = true
		}
	case RouterCascade:
		if len(r.Members) == 1 {
			v.add(at("members"), ErrOutOfRange, "a cascade needs at least 2 members, got 1")
		}
		e := r.Escalation
		if len(e.On) == 0 {
			v.add(at("escalation.on"), ErrRequired, "must list at least one check")
		}
		hasRefusal := false
		for j, c := range e.On {
			v.enum(fmt.Sprintf("%s[%d]", at("escalation.on"), j), c, EscalateFinishLength, EscalateEmpty, EscalateRefusal)
			hasRefusal = hasRefusal || c == EscalateRefusal
		}
		if hasRefusal && len(e.RefusalPatterns) == 0 {
			v.add(at("escalation.refusal_patterns"), ErrRequired, `escalation.on has "refusal" but no refusal_patterns`)
		}
		if !hasRefusal && len(e.RefusalPatterns) > 0 {
			v.add(at("escalation.refusal_patterns"), ErrConflict, `set but escalation.on lacks "refusal"`)
		}
		for j, pat := range e.RefusalPatterns {
			if _, err := regexp.Compile(pat); err != nil {
				v.add(fmt.Sprintf("%s[%d]", at("escalation.refusal_patterns"), j), ErrInvalid, "not a Go regular expression: %v", err)
			}
		}
	}
}

// edge is one reference from a deployment or router to another, with the
// key that makes it.
type edge struct {
	to, path string
}

// cycles reports cycles through serving.fallback lists, router members and tiers.
func (v *validator) cycles() {
	graph := map[string][]edge{}
	var order []string
	for i, d := range v.c.Deployments {
		order = append(order, d.Name)
		for j, f := range d.Serving.Fallback {
			graph[d.Name] = append(graph[d.Name], edge{f, fmt.Sprintf("%s.serving.fallback[%d]", deploymentPath(i, d.Name), j)})
		}
	}
	for i, r := range v.c.Routers {
		order = append(order, r.Name)
		if !r.membersDerived {
			for j, m := range r.Members {
				graph[r.Name] = append(graph[r.Name], edge{m, fmt.Sprintf("%s.members[%d]", routerPath(i, r.Name), j)})
			}
		}
		if r.Kind == RouterTiered && !r.tiersDerived && (r.membersDerived || !slices.Equal(r.Members, tierDeployments(r.Tiers))) {
			for j, t := range r.Tiers {
				graph[r.Name] = append(graph[r.Name], edge{t.Deployment, fmt.Sprintf("%s.tier[%d] (%q).deployment", routerPath(i, r.Name), j, t.Name)})
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, e := range graph[n] {
			if e.to == n {
				continue // self-reference, reported by references()
			}
			switch color[e.to] {
			case grey:
				start := slices.Index(stack, e.to)
				cyc := append(slices.Clone(stack[start:]), e.to)
				v.add(e.path, ErrCycle, "fallback cycle: %s", strings.Join(cyc, " -> "))
			case white:
				if _, known := graph[e.to]; known {
					visit(e.to)
				} else {
					color[e.to] = black
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range order {
		if color[n] == white {
			visit(n)
		}
	}
}

func tierDeployments(ts []Tier) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Deployment
	}
	return out
}
