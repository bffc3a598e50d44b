package gateway

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/gateway")

// goldenDir holds one transcript per case: the request, then the status,
// the headers that matter and the body exactly as written.
const goldenDir = "../testdata/gateway"

func toolStream(_ context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
	return &runners.SliceHandle{Chunks: []*messages.TokenChunk{
		{Deployment: "demo-a", Reasoning: "The user wants weather."},
		{ToolCalls: []*messages.ToolCallDelta{{Index: 0, Id: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":`}}},
		{ToolCalls: []*messages.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
		{Deployment: "demo-a", FinishReason: messages.FinishReason_FINISH_REASON_TOOL_CALLS,
			Usage: &messages.Usage{InputTokens: 20, OutputTokens: 11, ReasoningTokens: 5}, CostUsd: 0.001},
	}}, nil
}

func TestGolden(t *testing.T) {
	be := newTestBackend().
		on("demo", reply("demo-a", "Hello", ", ", "world")).
		on("tools", toolStream).
		on("escapes", reply("demo-a", "line\n\"quoted\" \\ \t<tag> & é 😀 \u2028 \x01 \xff")).
		on("limited", fail(runners.RateLimitedError("tpm", 1200*time.Millisecond, "tokens per minute exhausted"))).
		on("open", fail(&messages.Error{Code: runners.CodeCircuitOpen, Deployment: "demo-a", RetryAfterMs: 5000, Message: "circuit open"})).
		on("broken", cut("demo-a", &messages.Error{Code: runners.CodeTimeout, Message: "idle timeout"}, "Hel", "lo"))
	msg := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct{ name, body string }{
		{"unary", `{"model":"demo",` + msg + `}`},
		{"unary_tool_calls", `{"model":"tools",` + msg + `,"tools":[{"type":"function","function":{"name":"get_weather"}}]}`},
		{"unary_escapes", `{"model":"escapes",` + msg + `}`},
		{"stream_usage", `{"model":"demo","stream":true,"stream_options":{"include_usage":true},` + msg + `}`},
		{"stream_no_usage", `{"model":"demo","stream":true,` + msg + `}`},
		{"stream_tool_calls", `{"model":"tools","stream":true,"stream_options":{"include_usage":true},` + msg + `}`},
		{"stream_in_band_error", `{"model":"broken","stream":true,"stream_options":{"include_usage":true},` + msg + `}`},
		{"error_model_not_found", `{"model":"nope",` + msg + `}`},
		{"error_rate_limited", `{"model":"limited","stream":true,` + msg + `}`},
		{"error_circuit_open", `{"model":"open",` + msg + `}`},
		{"error_param", `{"model":"demo","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"audio"}]}]}`},
		{"error_json", `{"model":"demo",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, be)
			resp, body := s.chat(t, tt.body, "X-Request-Id", "req-"+tt.name)
			var b strings.Builder
			b.WriteString("POST /v1/chat/completions\n" + tt.body + "\n\n")
			b.WriteString(resp.Proto + " " + resp.Status + "\n")
			for _, h := range []string{"Content-Type", "Retry-After", "X-Actorinfer-Deployment", "X-Request-Id"} {
				if v := resp.Header.Get(h); v != "" {
					b.WriteString(h + ": " + v + "\n")
				}
			}
			b.WriteString("\n" + body)
			got := b.String()
			path := filepath.Join(goldenDir, tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./gateway -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file %s:\n--- got\n%s\n--- want\n%s", tt.name, path, got, want)
			}
		})
	}
}
