package config

import (
	"strings"
	"testing"
)

// Snippets the validation table builds on.
const (
	demo = `
[[deployment]]
name = "demo"
runtime = "fake"
`
	gpt = `
[[deployment]]
name = "gpt-4o"
api_key = { from_env = "CFGTEST_KEY" }
`
	stories = `
[[deployment]]
name = "stories"
model_path = "models/stories15M.bin"
`
)

func dep(i int, name, key string) string { return deploymentPath(i, name) + "." + key }
func rtr(i int, name, key string) string { return routerPath(i, name) + "." + key }

func TestValidateTable(t *testing.T) {
	t.Setenv("CFGTEST_KEY", "k")
	tests := []struct {
		name string
		src  string
		want []problem // exactly these; nil means valid
	}{
		// [server]
		{"minimal", demo, nil},
		{"listen not host:port", "[server]\nlisten = \"nope\"\n" + demo, []problem{{"server.listen", ErrInvalid}}},
		{"listen bad port", "[server]\nlisten = \"127.0.0.1:http\"\n" + demo, []problem{{"server.listen", ErrInvalid}}},
		{"max_body_bytes negative", "[server]\nmax_body_bytes = -1\n" + demo, []problem{{"server.max_body_bytes", ErrOutOfRange}}},
		{"shutdown_timeout negative", "[server]\nshutdown_timeout = \"-1s\"\n" + demo, []problem{{"server.shutdown_timeout", ErrOutOfRange}}},
		{"read_header_timeout negative", "[server]\nread_header_timeout = \"-1s\"\n" + demo, []problem{{"server.read_header_timeout", ErrOutOfRange}}},
		{"request_timeout negative", "[server]\nrequest_timeout = \"-5s\"\n" + demo, []problem{{"server.request_timeout", ErrOutOfRange}}},
		{"request_timeout zero means none", "[server]\nrequest_timeout = \"0s\"\n" + demo, nil},
		{"admin public without keys", "[server]\nlisten = \"0.0.0.0:8080\"\n" + demo, []problem{{"server.admin.enabled", ErrConflict}}},
		{"admin public with keys", "[server]\nlisten = \"0.0.0.0:8080\"\napi_keys = [{ from_env = \"CFGTEST_KEY\" }]\n" + demo, nil},
		{"admin disabled on public listen", "[server]\nlisten = \"0.0.0.0:8080\"\n[server.admin]\nenabled = false\n" + demo, nil},
		{"admin on localhost", "[server]\nlisten = \"localhost:8080\"\n" + demo, nil},
		{"api_keys empty reference", "[server]\napi_keys = [{}]\n" + demo, []problem{{"server.api_keys[0]", ErrRequired}}},
		{"api_keys two sources", "[server]\napi_keys = [{ from_env = \"CFGTEST_KEY\", from_file = \"/x\" }]\n" + demo, []problem{{"server.api_keys[0]", ErrConflict}}},
		{"api_keys unset env", "[server]\napi_keys = [{ from_env = \"CFGTEST_UNSET_VAR\" }]\n" + demo, []problem{{"server.api_keys[0]", ErrSecret}}},

		// [cluster]
		{"cluster defaults", "[cluster]\n" + demo, nil},
		{"cluster provider", "[cluster]\nprovider = \"zookeeper\"\n" + demo, []problem{{"cluster.provider", ErrInvalid}}},
		{"etcd without endpoints", "[cluster]\nprovider = \"etcd\"\n" + demo, []problem{{"cluster.etcd_endpoints", ErrRequired}}},
		{"etcd with seeds", "[cluster]\nprovider = \"etcd\"\netcd_endpoints = [\"http://127.0.0.1:2379\"]\nseeds = [\"127.0.0.1:7401\"]\n" + demo,
			[]problem{{"cluster.seeds", ErrConflict}}},
		{"automanaged with etcd_endpoints", "[cluster]\netcd_endpoints = [\"127.0.0.1:2379\"]\n" + demo, []problem{{"cluster.etcd_endpoints", ErrConflict}}},
		{"etcd endpoint bad URL", "[cluster]\nprovider = \"etcd\"\netcd_endpoints = [\"ftp://x:1\"]\n" + demo, []problem{{"cluster.etcd_endpoints[0]", ErrInvalid}}},
		{"seed not host:port", "[cluster]\nseeds = [\"127.0.0.1:7401\", \"node2\"]\n" + demo, []problem{{"cluster.seeds[1]", ErrInvalid}}},
		{"cluster listen", "[cluster]\nlisten = \"127.0.0.1:99999\"\n" + demo, []problem{{"cluster.listen", ErrInvalid}}},
		{"unknown role", "[cluster]\nroles = [\"gpu\", \"cpu\"]\n" + demo, []problem{{"cluster.roles[1]", ErrInvalid}}},
		{"duplicate role", "[cluster]\nroles = [\"gpu\", \"gpu\"]\n" + demo, []problem{{"cluster.roles[1]", ErrDuplicate}}},
		{"no roles is a gateway node", "[cluster]\nroles = []\n" + demo, nil},
		{"blank cluster name", "[cluster]\nname = \" \"\n" + demo, []problem{{"cluster.name", ErrRequired}}},

		// [[deployment]]: names
		{"no deployments", "[server]\n", []problem{{"deployment", ErrRequired}}},
		{"name missing", "[[deployment]]\nruntime = \"fake\"\n", []problem{{dep(0, "", "name"), ErrRequired}}},
		{"name with slash", "[[deployment]]\nname = \"a/b\"\nruntime = \"fake\"\n", []problem{{dep(0, "a/b", "name"), ErrInvalid}}},
		{"name with space", "[[deployment]]\nname = \"a b\"\nruntime = \"fake\"\n", []problem{{dep(0, "a b", "name"), ErrInvalid}}},
		{"duplicate deployment", demo + demo, []problem{{dep(1, "demo", "name"), ErrDuplicate}}},
		{"router named like deployment", demo + "[[router]]\nname = \"demo\"\nkind = \"tiered\"\nmembers = [\"gpt-4o\"]\n" + gpt,
			[]problem{{rtr(0, "demo", "name"), ErrDuplicate}}},
		{"duplicate router", demo + gpt + "[[router]]\nname = \"r\"\nkind = \"tiered\"\nmembers = [\"demo\"]\n[[router]]\nname = \"r\"\nkind = \"tiered\"\nmembers = [\"demo\"]\n",
			[]problem{{rtr(1, "r", "name"), ErrDuplicate}}},

		// runtime
		{"unknown runtime", "[[deployment]]\nname = \"x\"\nruntime = \"tensorrt\"\n", []problem{{dep(0, "x", "runtime"), ErrInvalid}}},
		{"uninferable runtime", "[[deployment]]\nname = \"mistral-large\"\n", []problem{{dep(0, "mistral-large", "runtime"), ErrRequired}}},
		{"cuda", "[[deployment]]\nname = \"g\"\nruntime = \"cuda\"\nmodel_path = \"m.gguf\"\n", nil},

		// rate limits, the example from the brief: the third deployment
		{"negative rpm", demo + stories + gpt + "[deployment.rate_limits]\nrequests_per_minute = -5\n",
			[]problem{{dep(2, "gpt-4o", "rate_limits.requests_per_minute"), ErrOutOfRange}}},
		{"negative tpm and concurrency", gpt + "[deployment.rate_limits]\ntokens_per_minute = -1\nconcurrent_requests = -1\n",
			[]problem{{dep(0, "gpt-4o", "rate_limits.tokens_per_minute"), ErrOutOfRange}, {dep(0, "gpt-4o", "rate_limits.concurrent_requests"), ErrOutOfRange}}},
		{"zero limits mean unlimited", gpt + "[deployment.rate_limits]\nrequests_per_minute = 0\n", nil},

		// replicas and retry
		{"negative replicas", demo + "replicas = -1\n", []problem{{dep(0, "demo", "replicas"), ErrOutOfRange}}},
		{"explicit zero replicas", demo + "replicas = 0\n", []problem{{dep(0, "demo", "replicas"), ErrOutOfRange}}},
		{"negative max_retries", demo + "[deployment.retry]\nmax_retries = -1\n", []problem{{dep(0, "demo", "retry.max_retries"), ErrOutOfRange}}},
		{"zero max_retries disables", demo + "[deployment.retry]\nmax_retries = 0\n", nil},
		{"negative backoff", demo + "[deployment.retry]\ninitial_backoff = \"-1s\"\n", []problem{{dep(0, "demo", "retry.initial_backoff"), ErrOutOfRange}}},
		{"initial above max backoff", demo + "[deployment.retry]\ninitial_backoff = \"2m\"\n", []problem{{dep(0, "demo", "retry.initial_backoff"), ErrConflict}}},

		// circuit breaker and timeouts
		{"breaker", demo + "[deployment.circuit_breaker]\nfailure_threshold = -2\nopen_duration = \"-1s\"\nhalf_open_probes = -1\n", []problem{
			{dep(0, "demo", "circuit_breaker.failure_threshold"), ErrOutOfRange},
			{dep(0, "demo", "circuit_breaker.open_duration"), ErrOutOfRange},
			{dep(0, "demo", "circuit_breaker.half_open_probes"), ErrOutOfRange}}},
		{"negative total", demo + "[deployment.timeouts]\ntotal = \"-1m\"\n", []problem{{dep(0, "demo", "timeouts.total"), ErrOutOfRange}}},
		{"first_token beyond total", demo + "[deployment.timeouts]\nfirst_token = \"20m\"\ntotal = \"10m\"\n",
			[]problem{{dep(0, "demo", "timeouts.first_token"), ErrConflict}}},
		{"explicit zero connect", demo + "[deployment.timeouts]\nconnect = \"0s\"\n", []problem{{dep(0, "demo", "timeouts.connect"), ErrOutOfRange}}},

		// serving
		{"serving negatives", demo + "[deployment.serving]\nmax_concurrent = -1\nqueue_size = -1\n", []problem{
			{dep(0, "demo", "serving.max_concurrent"), ErrOutOfRange}, {dep(0, "demo", "serving.queue_size"), ErrOutOfRange}}},
		{"on_capacity unknown", demo + "[deployment.serving]\non_capacity_exhausted = \"drop\"\n",
			[]problem{{dep(0, "demo", "serving.on_capacity_exhausted"), ErrInvalid}}},
		{"fallback policy without list", demo + "[deployment.serving]\non_capacity_exhausted = \"fallback\"\n",
			[]problem{{dep(0, "demo", "serving.fallback"), ErrRequired}}},
		{"reject with fallback list", stories + demo + "[deployment.serving]\non_capacity_exhausted = \"reject\"\nfallback = [\"stories\"]\n",
			[]problem{{dep(1, "demo", "serving.fallback"), ErrConflict}}},
		{"queue then fallback", stories + demo + "[deployment.serving]\nfallback = [\"stories\"]\n", nil},
		{"fallback unknown", demo + "[deployment.serving]\non_capacity_exhausted = \"fallback\"\nfallback = [\"nope\"]\n",
			[]problem{{dep(0, "demo", "serving.fallback[0]"), ErrUnknownReference}}},
		{"fallback self", demo + "[deployment.serving]\nfallback = [\"demo\"]\n", []problem{{dep(0, "demo", "serving.fallback[0]"), ErrCycle}}},
		{"fallback twice", stories + demo + "[deployment.serving]\nfallback = [\"stories\", \"stories\"]\n",
			[]problem{{dep(1, "demo", "serving.fallback[1]"), ErrDuplicate}}},
		{"fallback cycle", demo + "[deployment.serving]\nfallback = [\"stories\"]\n" + stories + "[deployment.serving]\nfallback = [\"demo\"]\n",
			[]problem{{dep(1, "stories", "serving.fallback[0]"), ErrCycle}}},

		// budget and pricing
		{"budget negatives", gpt + "[deployment.budget]\nmax_spend_per_hour = -1.0\nmax_spend_per_day = -2\n", []problem{
			{dep(0, "gpt-4o", "budget.max_spend_per_hour"), ErrOutOfRange}, {dep(0, "gpt-4o", "budget.max_spend_per_day"), ErrOutOfRange}}},
		{"hourly above daily", gpt + "[deployment.budget]\nmax_spend_per_hour = 20\nmax_spend_per_day = 10\n",
			[]problem{{dep(0, "gpt-4o", "budget.max_spend_per_hour"), ErrConflict}}},
		{"on_exceeded unknown", gpt + "[deployment.budget]\non_exceeded = \"ignore\"\n", []problem{{dep(0, "gpt-4o", "budget.on_exceeded"), ErrInvalid}}},
		{"unknown_price unknown", gpt + "[deployment.budget]\nunknown_price = \"guess\"\n", []problem{{dep(0, "gpt-4o", "budget.unknown_price"), ErrInvalid}}},
		{"estimate without price", gpt + "[deployment.budget]\nunknown_price = \"estimate\"\n", []problem{{dep(0, "gpt-4o", "budget.estimate_price"), ErrRequired}}},
		{"estimate with price", gpt + "[deployment.budget]\nunknown_price = \"estimate\"\nestimate_price = { input = 5, output = 15 }\n", nil},
		{"estimate_price with deny", gpt + "[deployment.budget]\nestimate_price = { input = 5 }\n", []problem{{dep(0, "gpt-4o", "budget.estimate_price"), ErrConflict}}},
		{"negative price", gpt + "[deployment.pricing]\ninput = -0.15\n", []problem{{dep(0, "gpt-4o", "pricing.input"), ErrOutOfRange}}},

		// remote runtimes
		{"openai without key", "[[deployment]]\nname = \"gpt-4o\"\n", []problem{{dep(0, "gpt-4o", "api_key"), ErrRequired}}},
		{"openai-compatible endpoint without key", "[[deployment]]\nname = \"gpt-4o\"\nendpoint = \"http://localhost:4000/v1\"\n", nil},
		{"endpoint not a URL", gpt + "endpoint = \"api.openai.com\"\n", []problem{{dep(0, "gpt-4o", "endpoint"), ErrInvalid}}},
		{"endpoint with query", gpt + "endpoint = \"https://x.example/v1?a=b\"\n", []problem{{dep(0, "gpt-4o", "endpoint"), ErrInvalid}}},
		{"anthropic without key", "[[deployment]]\nname = \"claude-sonnet-4\"\n", []problem{{dep(0, "claude-sonnet-4", "api_key"), ErrRequired}}},
		{"gemini without key", "[[deployment]]\nname = \"gemini-2.5-pro\"\n", []problem{{dep(0, "gemini-2.5-pro", "api_key"), ErrRequired}}},
		{"azure without endpoint and key", "[[deployment]]\nname = \"az\"\nruntime = \"azure-openai\"\n", []problem{
			{dep(0, "az", "endpoint"), ErrRequired}, {dep(0, "az", "api_key"), ErrRequired}}},
		{"azure entra without token", "[[deployment]]\nname = \"az\"\nruntime = \"azure-openai\"\nendpoint = \"https://r.openai.azure.com\"\nauth = \"entra\"\n",
			[]problem{{dep(0, "az", "token"), ErrRequired}}},
		{"azure entra with api_key", "[[deployment]]\nname = \"az\"\nruntime = \"azure-openai\"\nendpoint = \"https://r.openai.azure.com\"\nauth = \"entra\"\ntoken = { from_env = \"CFGTEST_KEY\" }\napi_key = { from_env = \"CFGTEST_KEY\" }\n",
			[]problem{{dep(0, "az", "api_key"), ErrConflict}}},
		{"azure unknown auth", "[[deployment]]\nname = \"az\"\nruntime = \"azure-openai\"\nendpoint = \"https://r.openai.azure.com\"\nauth = \"oauth\"\n",
			[]problem{{dep(0, "az", "auth"), ErrInvalid}}},
		{"litellm without endpoint", "[[deployment]]\nname = \"l\"\nruntime = \"litellm\"\n", []problem{{dep(0, "l", "endpoint"), ErrRequired}}},
		{"litellm unknown provider", "[[deployment]]\nname = \"l\"\nruntime = \"litellm\"\nendpoint = \"http://localhost:4000\"\nprovider = \"vllm\"\n",
			[]problem{{dep(0, "l", "provider"), ErrInvalid}}},
		{"provider on openai", gpt + "provider = \"litellm\"\n", []problem{{dep(0, "gpt-4o", "provider"), ErrConflict}}},
		{"vertex without location and token", "[[deployment]]\nname = \"gemini-2.5-pro\"\nproject = \"p\"\n", []problem{
			{dep(0, "gemini-2.5-pro", "location"), ErrRequired}, {dep(0, "gemini-2.5-pro", "token"), ErrRequired}}},
		{"vertex with api_key", "[[deployment]]\nname = \"gemini-2.5-pro\"\nproject = \"p\"\nlocation = \"us-central1\"\ntoken = { from_env = \"CFGTEST_KEY\" }\napi_key = { from_env = \"CFGTEST_KEY\" }\n",
			[]problem{{dep(0, "gemini-2.5-pro", "api_key"), ErrConflict}}},
		{"vertex bad location", "[[deployment]]\nname = \"gemini-2.5-pro\"\nproject = \"p\"\nlocation = \"us central1\"\ntoken = { from_env = \"CFGTEST_KEY\" }\n",
			[]problem{{dep(0, "gemini-2.5-pro", "location"), ErrInvalid}}},
		{"token on openai", gpt + "token = { from_env = \"CFGTEST_KEY\" }\n", []problem{{dep(0, "gpt-4o", "token"), ErrConflict}}},
		{"api_version on openai", gpt + "api_version = \"2024-10-21\"\n", []problem{{dep(0, "gpt-4o", "api_version"), ErrConflict}}},
		{"model_path on openai", gpt + "model_path = \"m.gguf\"\n", []problem{{dep(0, "gpt-4o", "model_path"), ErrConflict}}},
		{"project on anthropic", "[[deployment]]\nname = \"claude-x\"\napi_key = { from_env = \"CFGTEST_KEY\" }\nproject = \"p\"\n",
			[]problem{{dep(0, "claude-x", "project"), ErrConflict}}},
		{"reserved header", gpt + "headers = { Authorization = \"Bearer x\" }\n", []problem{{dep(0, "gpt-4o", "headers.Authorization"), ErrConflict}}},
		{"bad header name", gpt + "headers = { \"X Bad\" = \"1\" }\n", []problem{{dep(0, "gpt-4o", `headers."X Bad"`), ErrInvalid}}},
		{"header value with newline", gpt + "headers = { X-Org = \"a\\nb\" }\n", []problem{{dep(0, "gpt-4o", "headers.X-Org"), ErrInvalid}}},
		{"headers ok", gpt + "headers = { X-Org = \"acme\" }\n", nil},

		// local runtimes
		{"local without model_path", "[[deployment]]\nname = \"l\"\nruntime = \"local\"\n", []problem{{dep(0, "l", "model_path"), ErrRequired}}},
		{"local negatives", stories + "threads = -1\nmax_batch = -1\ncontext_length = -1\n", []problem{
			{dep(0, "stories", "threads"), ErrOutOfRange}, {dep(0, "stories", "max_batch"), ErrOutOfRange}, {dep(0, "stories", "context_length"), ErrOutOfRange}}},
		{"local unknown template", stories + "chat_template = \"chatml\"\n", []problem{{dep(0, "stories", "chat_template"), ErrInvalid}}},
		{"endpoint on local", stories + "endpoint = \"http://x\"\n", []problem{{dep(0, "stories", "endpoint"), ErrConflict}}},
		{"api_key on fake", demo + "api_key = { from_env = \"CFGTEST_KEY\" }\n", []problem{{dep(0, "demo", "api_key"), ErrConflict}}},
		{"headers on local", stories + "headers = { X-A = \"1\" }\n", []problem{{dep(0, "stories", "headers"), ErrConflict}}},
		{"threads on fake", demo + "threads = 2\n", []problem{{dep(0, "demo", "threads"), ErrConflict}}},

		// [[router]]
		{"router kind missing", demo + "[[router]]\nname = \"r\"\nmembers = [\"demo\"]\n", []problem{{rtr(0, "r", "kind"), ErrRequired}}},
		{"router kind unknown", demo + "[[router]]\nname = \"r\"\nkind = \"random\"\nmembers = [\"demo\"]\n", []problem{{rtr(0, "r", "kind"), ErrInvalid}}},
		{"router no members", demo + "[[router]]\nname = \"r\"\nkind = \"fallback\"\n", []problem{{rtr(0, "r", "members"), ErrRequired}}},
		{"router unknown member", demo + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"nope\"]\n",
			[]problem{{rtr(0, "r", "members[1]"), ErrUnknownReference}}},
		{"router self member", demo + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"r\"]\n", []problem{{rtr(0, "r", "members[1]"), ErrCycle}}},
		{"router duplicate member", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\", \"demo\"]\n",
			[]problem{{rtr(0, "r", "members[2]"), ErrDuplicate}}},
		{"fallback router of one", demo + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\"]\n", []problem{{rtr(0, "r", "members"), ErrOutOfRange}}},
		{"cascade of one", demo + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\"]\n", []problem{{rtr(0, "r", "members"), ErrOutOfRange}}},
		{"fallback_on content_filtered", demo + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\nfallback_on = [\"rate_limited\", \"content_filtered\"]\n",
			[]problem{{rtr(0, "r", "fallback_on[1]"), ErrInvalid}}},
		{"fallback_on unknown and twice", demo + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\nfallback_on = [\"teapot\", \"timeout\", \"timeout\"]\n",
			[]problem{{rtr(0, "r", "fallback_on[0]"), ErrInvalid}, {rtr(0, "r", "fallback_on[2]"), ErrDuplicate}}},
		{"fallback_on empty", demo + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\nfallback_on = []\n",
			[]problem{{rtr(0, "r", "fallback_on"), ErrRequired}}},
		{"fallback_on context length opt-in", demo + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\nfallback_on = [\"context_length_exceeded\"]\n", nil},
		{"fallback_on on cascade", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\"]\nfallback_on = [\"timeout\"]\n",
			[]problem{{rtr(0, "r", "fallback_on"), ErrConflict}}},
		{"refusal without patterns", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\"]\n[router.escalation]\non = [\"refusal\"]\n",
			[]problem{{rtr(0, "r", "escalation.refusal_patterns"), ErrRequired}}},
		{"bad refusal pattern", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\"]\n[router.escalation]\nrefusal_patterns = [\"(\"]\n",
			[]problem{{rtr(0, "r", "escalation.refusal_patterns[0]"), ErrInvalid}}},
		{"patterns without refusal check", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\"]\n[router.escalation]\non = [\"empty\"]\nrefusal_patterns = [\"sorry\"]\n",
			[]problem{{rtr(0, "r", "escalation.refusal_patterns"), ErrConflict}}},
		{"unknown escalation check", demo + stories + "[[router]]\nname = \"r\"\nkind = \"cascade\"\nmembers = [\"demo\", \"stories\"]\n[router.escalation]\non = [\"length\"]\n",
			[]problem{{rtr(0, "r", "escalation.on[0]"), ErrInvalid}}},
		{"escalation on tiered", demo + "[[router]]\nname = \"r\"\nkind = \"tiered\"\nmembers = [\"demo\"]\n[router.escalation]\non = [\"empty\"]\n",
			[]problem{{rtr(0, "r", "escalation"), ErrConflict}}},
		{"tier on fallback", demo + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\n[[router.tier]]\nname = \"t\"\ndeployment = \"demo\"\n",
			[]problem{{rtr(0, "r", "tier"), ErrConflict}}},
		{"tiers", demo + stories + "[[router]]\nname = \"r\"\nkind = \"tiered\"\ndefault_tier = \"cheap\"\n[[router.tier]]\nname = \"premium\"\ndeployment = \"demo\"\nmax_cost_per_request = 0.05\n[[router.tier]]\nname = \"cheap\"\ndeployment = \"stories\"\n", nil},
		{"tier problems", demo + "[[router]]\nname = \"r\"\nkind = \"tiered\"\ndefault_tier = \"gold\"\n[[router.tier]]\nname = \"a\"\ndeployment = \"nope\"\nmax_cost_per_request = -1\n[[router.tier]]\nname = \"a\"\n",
			[]problem{
				{rtr(0, "r", `tier[0] ("a").deployment`), ErrUnknownReference},
				{rtr(0, "r", `tier[0] ("a").max_cost_per_request`), ErrOutOfRange},
				{rtr(0, "r", `tier[1] ("a").name`), ErrDuplicate},
				{rtr(0, "r", `tier[1] ("a").deployment`), ErrRequired},
				{rtr(0, "r", "default_tier"), ErrUnknownReference}}},
		{"tier name with slash", demo + "[[router]]\nname = \"r\"\nkind = \"tiered\"\n[[router.tier]]\nname = \"a/b\"\ndeployment = \"demo\"\n",
			[]problem{{rtr(0, "r", `tier[0] ("a/b").name`), ErrInvalid}}},
		{"members and tiers disagree", demo + stories + "[[router]]\nname = \"r\"\nkind = \"tiered\"\nmembers = [\"stories\"]\n[[router.tier]]\nname = \"a\"\ndeployment = \"demo\"\n",
			[]problem{{rtr(0, "r", "members"), ErrConflict}}},
		{"nested routers", demo + stories + "[[router]]\nname = \"inner\"\nkind = \"fallback\"\nmembers = [\"demo\", \"stories\"]\n[[router]]\nname = \"outer\"\nkind = \"cascade\"\nmembers = [\"stories\", \"inner\"]\n", nil},
		{"router cycle", demo + stories + "[[router]]\nname = \"r1\"\nkind = \"fallback\"\nmembers = [\"demo\", \"r2\"]\n[[router]]\nname = \"r2\"\nkind = \"fallback\"\nmembers = [\"stories\", \"r1\"]\n",
			[]problem{{rtr(1, "r2", "members[1]"), ErrCycle}}},
		{"cycle through a fallback list", demo + "[deployment.serving]\nfallback = [\"r\"]\n" + stories + "[[router]]\nname = \"r\"\nkind = \"fallback\"\nmembers = [\"stories\", \"demo\"]\n",
			[]problem{{rtr(0, "r", "members[1]"), ErrCycle}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := parseProblems(t, tt.src, Options{})
			if !sameProblems(got, tt.want) {
				t.Errorf("Parse(%q) problems:%s\nwant:%s", tt.src, fmtProblems(got), fmtProblems(tt.want))
			}
		})
	}
}

// TestValidateGoBuilt checks that a Config built in Go gets the same
// defaults and checks as a parsed one.
func TestValidateGoBuilt(t *testing.T) {
	c := &Config{Deployments: []Deployment{{Name: "demo", Runtime: "fake"}}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if c.Server.Listen != DefaultListen || c.Deployments[0].Replicas != 1 {
		t.Errorf("Validate did not apply defaults: listen %q, replicas %d", c.Server.Listen, c.Deployments[0].Replicas)
	}

	bad := &Config{Deployments: []Deployment{{Name: "x", Runtime: "fake", Replicas: -3, RateLimits: RateLimits{RequestsPerMinute: -1}}}}
	got := problemsOf(t, bad.Validate())
	want := []problem{{dep(0, "x", "replicas"), ErrOutOfRange}, {dep(0, "x", "rate_limits.requests_per_minute"), ErrOutOfRange}}
	if !sameProblems(got, want) {
		t.Errorf("Validate() problems:%s\nwant:%s", fmtProblems(got), fmtProblems(want))
	}
	for _, fe := range Problems(bad.Validate()) {
		if fe.Source != "" {
			t.Errorf("FieldError.Source = %q for a Go-built config, want empty", fe.Source)
		}
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		fe   FieldError
		want string
	}{
		{FieldError{Path: `deployment[2] ("gpt-4o").rate_limits.requests_per_minute`, Kind: ErrOutOfRange, Problem: "must be ≥ 0, got -5"},
			`deployment[2] ("gpt-4o").rate_limits.requests_per_minute: must be ≥ 0, got -5`},
		{FieldError{Source: "a.toml", Path: "server.listen", Kind: ErrInvalid, Problem: "p"}, "a.toml: server.listen: p"},
		{FieldError{Source: "a.toml", Kind: ErrSyntax, Problem: "p"}, "a.toml: p"},
	}
	for _, tt := range tests {
		if got := tt.fe.Error(); got != tt.want {
			t.Errorf("FieldError.Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestProblemsOfNil(t *testing.T) {
	if got := Problems(nil); got != nil {
		t.Errorf("Problems(nil) = %v, want nil", got)
	}
}

func TestNotApplicableEvenWhenZero(t *testing.T) {
	t.Setenv("CFGTEST_KEY", "k")
	for _, key := range []string{"threads = 0", "context_length = 0", "endpoint = \"\"", "api_version = \"\"", "provider = \"\""} {
		_, got := parseProblems(t, demo+key+"\n", Options{})
		k := strings.Fields(key)[0]
		if want := []problem{{dep(0, "demo", k), ErrConflict}}; !sameProblems(got, want) {
			t.Errorf("fake deployment with %s: problems:%s\nwant:%s", key, fmtProblems(got), fmtProblems(want))
		}
	}
}
