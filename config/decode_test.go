package config

import (
	"strings"
	"testing"
)

// lite is a deployment whose api_key is optional.
const lite = `
[[deployment]]
name = "l"
runtime = "litellm"
endpoint = "http://h:1"
`

func TestDecodeProblems(t *testing.T) {
	t.Setenv("CFGTEST_KEY", "k")
	tests := []struct {
		name string
		src  string
		want []problem
	}{
		{"syntax", "[server\nlisten = 1", []problem{{"", ErrSyntax}}},
		{"duplicate key is syntax", demo + "name = \"again\"\n", []problem{{"deployment.name", ErrSyntax}}},
		{"unknown table", "[servr]\nlisten = \"x:1\"\n" + demo, []problem{{"servr", ErrUnknownKey}}},
		{"unknown deployment key", demo + "replica = 2\n", []problem{{dep(0, "demo", "replica"), ErrUnknownKey}}},
		{"keys are case-sensitive", demo + "Replicas = 2\n", []problem{{dep(0, "demo", "Replicas"), ErrUnknownKey}}},
		{"unknown nested key", demo + "[deployment.retry]\nmax_retry = 2\n", []problem{{dep(0, "demo", "retry.max_retry"), ErrUnknownKey}}},
		{"unknown key in second deployment", demo + stories + "colour = \"red\"\n", []problem{{dep(1, "stories", "colour"), ErrUnknownKey}}},
		{"unknown router key", demo + "[[router]]\nname = \"r\"\nkind = \"tiered\"\nmembers = [\"demo\"]\nbudget = 1\n",
			[]problem{{rtr(0, "r", "budget"), ErrUnknownKey}}},
		{"unknown tier key", demo + "[[router]]\nname = \"r\"\nkind = \"tiered\"\n[[router.tier]]\nname = \"t\"\ndeployment = \"demo\"\ncost = 1\n",
			[]problem{{rtr(0, "r", `tier[0] ("t").cost`), ErrUnknownKey}}},
		{"unknown secret key", lite + "api_key = { env = \"X\" }\n", []problem{{dep(0, "l", "api_key.env"), ErrUnknownKey}}},
		{"quoted unknown key", "[server]\n\"my key\" = 1\n" + demo, []problem{{`server."my key"`, ErrUnknownKey}}},
		{"every unknown key reported", "[servr]\n[clustr]\n" + demo + "replica = 1\n", []problem{
			{"servr", ErrUnknownKey}, {"clustr", ErrUnknownKey}, {dep(0, "demo", "replica"), ErrUnknownKey}}},
		{"string for integer", demo + "replicas = \"2\"\n", []problem{{dep(0, "demo", "replicas"), ErrType}}},
		{"float for integer", demo + "replicas = 1.5\n", []problem{{dep(0, "demo", "replicas"), ErrType}}},
		{"string for number", gpt + "[deployment.rate_limits]\nrequests_per_minute = \"10\"\n",
			[]problem{{dep(0, "gpt-4o", "rate_limits.requests_per_minute"), ErrType}}},
		{"integer for float is fine", gpt + "[deployment.pricing]\ninput = 1\n", nil},
		{"nan", gpt + "[deployment.pricing]\ninput = nan\n", []problem{{dep(0, "gpt-4o", "pricing.input"), ErrOutOfRange}}},
		{"inf", gpt + "[deployment.budget]\nmax_spend_per_day = inf\n", []problem{{dep(0, "gpt-4o", "budget.max_spend_per_day"), ErrOutOfRange}}},
		{"bare number duration", demo + "[deployment.timeouts]\nconnect = 5\n", []problem{{dep(0, "demo", "timeouts.connect"), ErrType}}},
		{"bad duration string", demo + "[deployment.timeouts]\nconnect = \"5 seconds\"\n", []problem{{dep(0, "demo", "timeouts.connect"), ErrInvalid}}},
		{"string for bool", demo + "idempotent = \"yes\"\n", []problem{{dep(0, "demo", "idempotent"), ErrType}}},
		{"table for string", "[server]\nlisten = { host = \"x\" }\n" + demo, []problem{{"server.listen", ErrType}}},
		{"string for list", demo + "[deployment.serving]\nfallback = \"stories\"\n" + stories, []problem{{dep(0, "demo", "serving.fallback"), ErrType}}},
		{"string for table", demo + "retry = \"3\"\n", []problem{{dep(0, "demo", "retry"), ErrType}}},
		{"date for string", "[server]\nlisten = 2024-01-01\n" + demo, []problem{{"server.listen", ErrType}}},
		{"secret as plain string", "[[deployment]]\nname = \"gpt-4o\"\napi_key = \"sk-live-123\"\n", []problem{
			{dep(0, "gpt-4o", "api_key"), ErrType}, {dep(0, "gpt-4o", "api_key"), ErrRequired}}},
		{"secret value not a string", lite + "api_key = { from_env = 5 }\n", []problem{{dep(0, "l", "api_key.from_env"), ErrType}}},
		{"secret empty env name", lite + "api_key = { from_env = \"\" }\n", []problem{{dep(0, "l", "api_key.from_env"), ErrRequired}}},
		{"secret empty table", "[[deployment]]\nname = \"l\"\nruntime = \"litellm\"\nendpoint = \"http://h:1\"\napi_key = {}\n", []problem{{dep(0, "l", "api_key"), ErrRequired}}},
		{"header value not a string", gpt + "headers = { X-A = 1 }\n", []problem{{dep(0, "gpt-4o", "headers.X-A"), ErrType}}},
		{"deployment not an array of tables", "[deployment]\nname = \"x\"\n", []problem{{"deployment", ErrType}, {"deployment", ErrRequired}}},

		// Explicit zeros that would silently become a default are refused;
		// zeros that mean something are kept.
		{"explicit empty listen", "[server]\nlisten = \"\"\n" + demo, []problem{{"server.listen", ErrOutOfRange}}},
		{"explicit empty runtime", "[[deployment]]\nname = \"gpt-4o\"\nruntime = \"\"\napi_key = { from_env = \"CFGTEST_KEY\" }\n",
			[]problem{{dep(0, "gpt-4o", "runtime"), ErrOutOfRange}}},
		{"explicit zero threads", stories + "threads = 0\n", []problem{{dep(0, "stories", "threads"), ErrOutOfRange}}},
		{"explicit zero queue", demo + "[deployment.serving]\nqueue_size = 0\n", []problem{{dep(0, "demo", "serving.queue_size"), ErrOutOfRange}}},
		{"explicit zero max_body_bytes", "[server]\nmax_body_bytes = 0\n" + demo, []problem{{"server.max_body_bytes", ErrOutOfRange}}},
		{"explicit zero context_length is the model's", stories + "context_length = 0\n", nil},
		{"explicit false idempotent", demo + "idempotent = false\n", nil},
		{"explicit zero budget", gpt + "[deployment.budget]\nmax_spend_per_day = 0\n", nil},
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

// TestSecretStringNotEchoed checks that a credential pasted where a secret
// reference belongs does not appear in the error.
func TestSecretStringNotEchoed(t *testing.T) {
	_, err := Parse([]byte("[[deployment]]\nname = \"gpt-4o\"\napi_key = \"sk-live-123\"\n"), "x.toml")
	if err == nil || strings.Contains(err.Error(), "sk-live-123") {
		t.Fatalf("Parse error = %v; want an error without the pasted key", err)
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Parse([]byte("[server]\nlisten = \n"), "x.toml")
	ps := Problems(err)
	if len(ps) != 1 || ps[0].Kind != ErrSyntax || ps[0].Err == nil {
		t.Fatalf("Parse(bad TOML) = %v; want one ErrSyntax problem with a cause", err)
	}
}

func TestSuggest(t *testing.T) {
	fields := tomlFields(typeOf[Deployment]())
	tests := []struct{ key, want string }{
		{"replica", ` (did you mean "replicas"?)`},
		{"Replicas", ` (did you mean "replicas"?)`},
		{"modle_path", ` (did you mean "model_path"?)`},
		{"zzzzzzzz", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.key, fields); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
