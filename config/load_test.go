package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

func setFullEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"CFGTEST_GATEWAY_KEY", "CFGTEST_GATEWAY_KEY_NEXT", "CFGTEST_OPENAI_KEY",
		"CFGTEST_ANTHROPIC_KEY", "CFGTEST_AZURE_TOKEN", "CFGTEST_GEMINI_KEY", "CFGTEST_VERTEX_TOKEN"} {
		t.Setenv(k, "secret-"+k)
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.Cluster != nil {
		t.Errorf("Default().Cluster = %+v, want nil (one node)", c.Cluster)
	}
	if c.Server.Listen != DefaultListen || len(c.Server.APIKeys) != 0 {
		t.Errorf("Default().Server = listen %q, %d keys; want %q, none", c.Server.Listen, len(c.Server.APIKeys), DefaultListen)
	}
	if len(c.Deployments) != 1 || len(c.Routers) != 0 {
		t.Fatalf("Default() has %d deployments and %d routers, want 1 and 0", len(c.Deployments), len(c.Routers))
	}
	d := c.Deployments[0]
	if d.Name != "demo" || d.Runtime != runners.RuntimeLocal || d.ModelPath != "testdata/models/demo.bin" ||
		d.TokenizerPath != "testdata/models/tokenizer.bin" {
		t.Errorf("Default() deployment = %q on %q (%s, %s), want demo on local with the bundled model",
			d.Name, d.Runtime, d.ModelPath, d.TokenizerPath)
	}
	c.Deployments[0].Name = "changed"
	if Default().Deployments[0].Name != "demo" {
		t.Error("Default() returned shared state")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

// TestDesignExample parses DESIGN §6's block verbatim. It is a fragment:
// its router and fallback name deployments it does not define, and it shows
// seeds and etcd_endpoints side by side. Those are the only problems.
func TestDesignExample(t *testing.T) {
	t.Setenv("ACTORINFER_API_KEY", "gw")
	t.Setenv("OPENAI_API_KEY", "sk")
	data, err := os.ReadFile("../testdata/config/design.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, got := parseProblems(t, string(data), Options{})
	want := []problem{
		{"cluster.etcd_endpoints", ErrConflict},
		{dep(0, "gpt-4o-mini", "serving.fallback[0]"), ErrUnknownReference},
		{rtr(0, "auto", "members[0]"), ErrUnknownReference},
		{rtr(0, "auto", "members[1]"), ErrUnknownReference},
	}
	if !sameProblems(got, want) {
		t.Fatalf("design.toml problems:%s\nwant:%s", fmtProblems(got), fmtProblems(want))
	}
}

func TestFullExample(t *testing.T) {
	setFullEnv(t)
	c, err := Load("../testdata/config/full.toml")
	if err != nil {
		t.Fatalf("Load(full.toml) = %v", err)
	}
	if c.Source != "../testdata/config/full.toml" {
		t.Errorf("Source = %q", c.Source)
	}
	g, _ := c.Deployment("gpt-4o")
	if g.IsIdempotent() || g.Retry.Retries() != 5 || g.Retry.RespectsRetryAfter() || g.Replicas != 2 {
		t.Errorf("gpt-4o: idempotent %v retries %d respect %v replicas %d; want false 5 false 2",
			g.IsIdempotent(), g.Retry.Retries(), g.Retry.RespectsRetryAfter(), g.Replicas)
	}
	if got, want := g.RateLimits.Runners(), (&runners.RateLimits{RequestsPerMinute: 10000, TokensPerMinute: 2e6, ConcurrentRequests: 50}); !reflect.DeepEqual(got, want) {
		t.Errorf("RateLimits.Runners() = %+v, want %+v", got, want)
	}
	if g.Timeouts.FirstToken.Duration() != 2*time.Minute || g.Headers["OpenAI-Organization"] != "org-123" {
		t.Errorf("gpt-4o timeouts/headers = %v %v", g.Timeouts.FirstToken, g.Headers)
	}
	if g.Pricing == nil || g.Pricing.CacheWrite != 3.125 || g.Budget.EstimatePrice == nil || g.Budget.EstimatePrice.Output != 15 {
		t.Errorf("gpt-4o pricing %+v, estimate %+v", g.Pricing, g.Budget.EstimatePrice)
	}
	if v, _ := c.Deployment("gemini-vertex"); v.Endpoint != "https://europe-west4-aiplatform.googleapis.com" || !v.IsVertex() {
		t.Errorf("gemini-vertex endpoint = %q, vertex %v", v.Endpoint, v.IsVertex())
	}
	if l, _ := c.Deployment("llama-3.1-8b"); l.Transport() != runners.TransportRemote(runners.ProviderOpenAICompatible) {
		t.Errorf("llama-3.1-8b transport = %v", l.Transport())
	}
	if s, _ := c.Deployment("stories"); s.WeightSource() != (runners.WeightSource{Kind: runners.LocalPath, Path: "models/stories15M.bin", TokenizerPath: "models/tokenizer.bin"}) {
		t.Errorf("stories weights = %v", s.WeightSource())
	}
	if g, _ := c.Deployment("llama2-chat"); g.Transport() != runners.TransportLocalGPU() || g.Transport().Role() != "gpu" {
		t.Errorf("llama2-chat transport = %v", g.Transport())
	}
	auto, ok := c.Router("auto")
	if !ok || auto.DefaultTier != "standard" || !reflect.DeepEqual(auto.Members, []string{"gpt-4o", "claude-sonnet-4", "stories"}) {
		t.Errorf("router auto = %+v", auto)
	}
	if c.Cluster == nil || c.Cluster.HasRole(RoleGPU) || !c.Cluster.HasRole(RoleEgress) {
		t.Errorf("cluster = %+v", c.Cluster)
	}
	for _, s := range c.secrets() {
		if _, err := s.Resolve(); err != nil {
			t.Errorf("Resolve(%v) = %v", s, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.toml")
	if err := os.WriteFile(p, []byte(demo+"replicas = -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	ps := Problems(err)
	if len(ps) != 1 || ps[0].Source != p || ps[0].Path != dep(0, "demo", "replicas") {
		t.Errorf("Load(bad) = %v; want one problem at replicas with Source %q", err, p)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("CFGTEST_KEY", "k")
	c := mustParse(t, gpt+stories+`
[[deployment]]
name = "az"
runtime = "azure-openai"
endpoint = "https://r.openai.azure.com"
api_key = { from_env = "CFGTEST_KEY" }
[[deployment]]
name = "lite"
runtime = "litellm"
endpoint = "http://localhost:4000"
[[deployment]]
name = "tiny"
model = "models/tiny.gguf"
[[deployment]]
name = "claude-3-5-haiku"
api_key = { from_env = "CFGTEST_KEY" }
[[deployment]]
name = "gemini-2.0-flash"
api_key = { from_env = "CFGTEST_KEY" }
[[router]]
name = "fb"
kind = "fallback"
members = ["gpt-4o", "az"]
[[router]]
name = "cascade"
kind = "cascade"
members = ["stories", "gpt-4o"]
[[router]]
name = "cascade-refusal"
kind = "cascade"
members = ["stories", "gpt-4o"]
[router.escalation]
refusal_patterns = ["sorry"]
[[router]]
name = "tiers"
kind = "tiered"
members = ["gpt-4o", "stories"]
`)
	s := c.Server
	if s.Listen != DefaultListen || s.MaxBodyBytes != DefaultMaxBodyBytes || s.ReadHeaderTimeout.Duration() != DefaultReadHeaderTimeout ||
		s.ShutdownTimeout.Duration() != DefaultShutdownTimeout || s.RequestTimeout != 0 || !s.Admin.IsEnabled() {
		t.Errorf("server defaults = %+v", s)
	}
	g, _ := c.Deployment("gpt-4o")
	want := Deployment{
		Name: "gpt-4o", Model: "gpt-4o", Runtime: runners.RuntimeOpenAI, Endpoint: DefaultOpenAIEndpoint,
		Replicas:       1,
		Retry:          Retry{InitialBackoff: Duration(time.Second), MaxBackoff: Duration(time.Minute)},
		CircuitBreaker: CircuitBreaker{FailureThreshold: 10, OpenDuration: Duration(30 * time.Second), HalfOpenProbes: 1},
		Timeouts: Timeouts{Connect: Duration(5 * time.Second), FirstToken: Duration(10 * time.Minute),
			Idle: Duration(5 * time.Minute), Total: Duration(30 * time.Minute)},
		Serving: Serving{MaxConcurrent: 50, QueueSize: 1024, OnCapacityExhausted: CapacityQueue},
		Budget:  Budget{OnExceeded: BudgetReject, UnknownPrice: PriceDeny},
	}
	gotCmp := *g
	gotCmp.APIKey, gotCmp.Idempotent, gotCmp.Retry.MaxRetries, gotCmp.Retry.RespectRetryAfter, gotCmp.Token = Secret{}, nil, nil, nil, Secret{}
	gotCmp.written = nil
	if !reflect.DeepEqual(gotCmp, want) {
		t.Errorf("openai defaults:\n got %+v\nwant %+v", gotCmp, want)
	}
	if !g.IsIdempotent() || g.Retry.Retries() != 3 || !g.Retry.RespectsRetryAfter() || g.RateLimits.Runners() != nil {
		t.Errorf("idempotent %v retries %d respect %v limits %v; want true 3 true nil",
			g.IsIdempotent(), g.Retry.Retries(), g.Retry.RespectsRetryAfter(), g.RateLimits.Runners())
	}
	if g.Transport() != runners.TransportRemote(runners.ProviderOpenAI) || g.Transport().Role() != "egress" {
		t.Errorf("openai transport = %v", g.Transport())
	}

	st, _ := c.Deployment("stories")
	if st.Runtime != runners.RuntimeLocal || st.Threads != runtime.NumCPU() || st.MaxBatch != 8 || st.ContextLength != 0 || st.ChatTemplate != TemplateAuto {
		t.Errorf("local defaults = runtime %q threads %d batch %d ctx %d template %q", st.Runtime, st.Threads, st.MaxBatch, st.ContextLength, st.ChatTemplate)
	}
	if st.Endpoint != "" || st.Transport() != runners.TransportLocalCPU() {
		t.Errorf("local endpoint %q transport %v", st.Endpoint, st.Transport())
	}
	tiny, _ := c.Deployment("tiny")
	if tiny.Runtime != runners.RuntimeLocal || tiny.ModelPath != "models/tiny.gguf" {
		t.Errorf("model .gguf: runtime %q model_path %q; want local, the model", tiny.Runtime, tiny.ModelPath)
	}
	az, _ := c.Deployment("az")
	if az.APIVersion != DefaultAzureAPIVersion || az.AzureDeployment != "az" || az.Auth != AuthAPIKey {
		t.Errorf("azure defaults = %q %q %q", az.APIVersion, az.AzureDeployment, az.Auth)
	}
	if l, _ := c.Deployment("lite"); l.Provider != runners.ProviderLiteLLM || l.Transport() != runners.TransportRemote(runners.ProviderLiteLLM) {
		t.Errorf("litellm provider = %q", l.Provider)
	}
	if a, _ := c.Deployment("claude-3-5-haiku"); a.Runtime != runners.RuntimeAnthropic || a.Endpoint != DefaultAnthropicEndpoint {
		t.Errorf("anthropic = %q %q", a.Runtime, a.Endpoint)
	}
	if gm, _ := c.Deployment("gemini-2.0-flash"); gm.Runtime != runners.RuntimeGemini || gm.Endpoint != DefaultGeminiEndpoint || gm.IsVertex() {
		t.Errorf("gemini = %q %q", gm.Runtime, gm.Endpoint)
	}

	fb, _ := c.Router("fb")
	if !reflect.DeepEqual(fb.FallbackOn, DefaultFallbackOn()) {
		t.Errorf("fallback_on default = %v", fb.FallbackOn)
	}
	if r, _ := c.Router("cascade"); !reflect.DeepEqual(r.Escalation.On, []string{"finish_length", "empty"}) {
		t.Errorf("escalation.on default = %v", r.Escalation.On)
	}
	if r, _ := c.Router("cascade-refusal"); !reflect.DeepEqual(r.Escalation.On, []string{"finish_length", "empty", "refusal"}) {
		t.Errorf("escalation.on default with patterns = %v", r.Escalation.On)
	}
	tr, _ := c.Router("tiers")
	if want := []Tier{{Name: "gpt-4o", Deployment: "gpt-4o"}, {Name: "stories", Deployment: "stories"}}; !reflect.DeepEqual(tr.Tiers, want) || tr.DefaultTier != "gpt-4o" {
		t.Errorf("tiers from members = %+v default %q", tr.Tiers, tr.DefaultTier)
	}

	cl := mustParse(t, "[cluster]\n"+demo).Cluster
	if cl.Name != DefaultClusterName || cl.Provider != ProviderAutomanaged || cl.Listen != DefaultClusterListen ||
		!reflect.DeepEqual(cl.Roles, []Role{RoleGPU, RoleEgress}) {
		t.Errorf("cluster defaults = %+v", cl)
	}
}

// TestApplyDefaultsIdempotent applies defaults twice and to a zero Config.
func TestApplyDefaultsIdempotent(t *testing.T) {
	setFullEnv(t)
	c, err := Load("../testdata/config/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := c.Deployment("stories")
	b := *before
	c.ApplyDefaults()
	after, _ := c.Deployment("stories")
	if !reflect.DeepEqual(b, *after) {
		t.Errorf("ApplyDefaults changed a defaulted config:\n%+v\n%+v", b, *after)
	}
	var z Config
	z.ApplyDefaults()
	if z.Server.Listen != DefaultListen || z.Cluster != nil {
		t.Errorf("zero Config after ApplyDefaults = %+v", z)
	}
	if got := problemsOf(t, z.Validate()); !sameProblems(got, []problem{{"deployment", ErrRequired}}) {
		t.Errorf("zero Config problems:%s", fmtProblems(got))
	}
}

func TestInferRuntime(t *testing.T) {
	tests := []struct {
		model string
		want  runners.RuntimeKind
		ok    bool
	}{
		{"gpt-4o", runners.RuntimeOpenAI, true},
		{"GPT-4o-mini", runners.RuntimeOpenAI, true},
		{"gpt-5", runners.RuntimeOpenAI, true},
		{"chatgpt-4o-latest", runners.RuntimeOpenAI, true},
		{"o1", runners.RuntimeOpenAI, true},
		{"o1-mini", runners.RuntimeOpenAI, true},
		{"o3-mini", runners.RuntimeOpenAI, true},
		{"o4-mini", runners.RuntimeOpenAI, true},
		{"claude-sonnet-4", runners.RuntimeAnthropic, true},
		{"claude-3-5-haiku-latest", runners.RuntimeAnthropic, true},
		{"gemini-2.5-pro", runners.RuntimeGemini, true},
		{"models/stories15M.bin", runners.RuntimeLocal, true},
		{"stories260K.gguf", runners.RuntimeLocal, true},
		{"Llama.GGUF", runners.RuntimeLocal, true},
		{"gpt4", "", false},
		{"o2", "", false},
		{"omni", "", false},
		{"claude", "", false},
		{"mistral-large", "", false},
		{"openai/gpt-4o", "", false},
		{"model.safetensors", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := InferRuntime(tt.model)
		if got != tt.want || ok != tt.ok {
			t.Errorf("InferRuntime(%q) = %q, %v; want %q, %v", tt.model, got, ok, tt.want, tt.ok)
		}
	}

	// Through a deployment: model, then model_path; an explicit runtime wins.
	t.Setenv("CFGTEST_KEY", "k")
	c := mustParse(t, `
[[deployment]]
name = "fast"
model = "o3-mini"
api_key = { from_env = "CFGTEST_KEY" }
[[deployment]]
name = "stories"
model_path = "m/stories.bin"
[[deployment]]
name = "proxy-gpt"
model = "gpt-4o"
runtime = "litellm"
endpoint = "http://localhost:4000"
`)
	for name, want := range map[string]runners.RuntimeKind{"fast": runners.RuntimeOpenAI, "stories": runners.RuntimeLocal, "proxy-gpt": runners.RuntimeLiteLLM} {
		if d, _ := c.Deployment(name); d.Runtime != want {
			t.Errorf("deployment %q runtime = %q, want %q", name, d.Runtime, want)
		}
	}
}
