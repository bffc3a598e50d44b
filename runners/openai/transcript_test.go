package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/providers/openai")

// goldenDir holds the provider transcripts: fixtures in OpenAI's and
// Azure's documented wire format (*.json, *.sse, *.html), served verbatim,
// and goldens of what the runner sends and produces (*.golden.json).
var goldenDir = filepath.Join("..", "..", "testdata", "providers", "openai")

const goldenKey = "sk-test-golden-0123456789"

// replay serves one fixture file and records the request.
type replay struct {
	srv  *httptest.Server
	mu   sync.Mutex
	req  *http.Request
	body []byte
}

func newReplay(t *testing.T, status int, contentType, fixture string) *replay {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, fixture))
	if err != nil {
		t.Fatal(err)
	}
	rp := &replay{}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rp.mu.Lock()
		rp.req, rp.body = r.Clone(context.Background()), b
		rp.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("x-ratelimit-remaining-requests", "499")
		w.WriteHeader(status)
		w.Write(data)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// richBatch uses every request feature: system, multi-part user content
// with a URL image and inline image bytes, a prior tool call and its
// result, sampling, tools, tool_choice and response_format.
func richBatch(stream bool) *messages.ExecuteBatch {
	f := func(v float32) *float32 { return &v }
	topK, seed := int32(40), int64(7)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 8)...)
	return &messages.ExecuteBatch{
		RequestId: "req-golden",
		Model:     "client-facing-name",
		Stream:    stream,
		User:      "user-42",
		Messages: []*messages.ChatMessage{
			{Role: messages.Role_ROLE_SYSTEM, Content: "You are a weather bot."},
			{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
				{Part: &messages.ContentPart_Text{Text: "What's the weather like where these were taken?"}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://example.com/sky.jpg", Detail: "low"}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Data: png}}},
			}},
			{Role: messages.Role_ROLE_ASSISTANT, ToolCalls: []*messages.ToolCall{{Id: "call_1", Type: "function", Name: "get_weather", Arguments: `{"location":"Paris"}`}}},
			{Role: messages.Role_ROLE_TOOL, ToolCallId: "call_1", Content: `{"temp_c":21}`},
		},
		Sampling: &messages.Sampling{Temperature: f(0.2), TopP: f(0.9), TopK: &topK, MaxTokens: 256,
			Stop: []string{"\n\n"}, PresencePenalty: f(0.1), FrequencyPenalty: f(0.2), Seed: &seed},
		ToolsJson:          []byte(`[{"type":"function","function":{"name":"get_weather","description":"Get the current weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`),
		ToolChoiceJson:     []byte(`"auto"`),
		ResponseFormatJson: []byte(`{"type":"text"}`),
	}
}

func simpleBatch(stream bool) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{RequestId: "req-golden", Stream: stream, Messages: []*messages.ChatMessage{
		{Role: messages.Role_ROLE_USER, Content: "Hello!"}}}
}

type transcript struct {
	name        string
	fixture     string
	status      int
	contentType string
	batch       *messages.ExecuteBatch
	cfg         func(c *Config, url string)
	request     string // golden of the request sent, when set
}

func openaiCfg(model string) func(c *Config, url string) {
	return func(c *Config, url string) {
		c.Endpoint, c.Model = url+"/v1", model
		c.Organization = "org-golden"
	}
}

func azureCfg(c *Config, url string) {
	c.Runtime, c.Endpoint, c.Model, c.AzureDeployment, c.APIVersion = runners.RuntimeAzureOpenAI, url, "gpt-4o", "my-gpt4o", "2024-10-21"
}

func litellmCfg(c *Config, url string) {
	c.Runtime, c.Provider, c.Endpoint, c.Model, c.APIKey = runners.RuntimeLiteLLM, runners.ProviderOpenAICompatible, url+"/v1", "Qwen/Qwen3-8B", httpapi.Secret{}
}

func TestTranscripts(t *testing.T) {
	const sse, js = "text/event-stream; charset=utf-8", "application/json"
	for _, tc := range []transcript{
		{"openai unary", "chat_completion.json", 200, js, richBatch(false), openaiCfg("gpt-4o"), "request_openai_unary"},
		{"openai stream", "stream_text.sse", 200, sse, richBatch(true), openaiCfg("o3-mini"), "request_openai_stream"},
		{"openai unary tool calls", "chat_completion_tool_calls.json", 200, js, simpleBatch(false), openaiCfg("gpt-4o-mini"), ""},
		{"openai stream tool calls", "stream_tool_calls.sse", 200, sse, simpleBatch(true), openaiCfg("gpt-4o"), ""},
		{"openai stream error object", "stream_error.sse", 200, sse, simpleBatch(true), openaiCfg("gpt-4o-mini"), ""},
		{"openai malformed chunk", "malformed_chunk.sse", 200, sse, simpleBatch(true), openaiCfg("gpt-4o"), ""},
		{"openai stream cut before finish", "stream_cut_no_finish.sse", 200, sse, simpleBatch(true), openaiCfg("gpt-4o"), ""},
		{"openai truncated completion", "truncated_completion.json", 200, js, simpleBatch(false), openaiCfg("gpt-4o"), ""},
		{"openai html 502", "error_html_502.html", 502, "text/html", simpleBatch(true), openaiCfg("gpt-4o"), ""},
		{"azure stream content filter", "azure_stream_content_filter.sse", 200, sse, richBatch(true), azureCfg, "request_azure_stream"},
		{"azure filtered before output", "azure_stream_filtered_before_output.sse", 200, sse, simpleBatch(true), azureCfg, ""},
		{"azure content filter 400", "azure_content_filter_400.json", 400, js, simpleBatch(false), azureCfg, ""},
		{"litellm stream no usage", "compat_stream_no_usage.sse", 200, sse, richBatch(true), litellmCfg, "request_litellm_stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := newReplay(t, tc.status, tc.contentType, tc.fixture)
			cfg := Config{Config: httpapi.Config{APIKey: httpapi.Secret{Inline: goldenKey}, Retry: httpapi.RetryPolicy{NoRetries: true}}}
			tc.cfg(&cfg, rp.srv.URL)
			r, err := New(Static(cfg), Options{})
			if err != nil {
				t.Fatal(err)
			}
			chunks, err := execute(r, tc.batch)
			name := strings.ReplaceAll(tc.name, " ", "_")
			checkGolden(t, name+".golden.json", renderResult(t, chunks, err))
			if strings.Contains(string(renderResult(t, chunks, err)), goldenKey) {
				t.Error("the result leaks the API key")
			}
			if tc.request != "" {
				checkGolden(t, tc.request+".golden.json", renderRequest(t, rp))
			}
		})
	}
}

// execute runs batch to its end; an Execute error is returned like a
// stream error.
func execute(r runners.ModelRunner, b *messages.ExecuteBatch) ([]*messages.TokenChunk, error) {
	h, err := r.Execute(context.Background(), b)
	if err != nil {
		return nil, err
	}
	return runners.ReadAll(h)
}

func renderResult(t *testing.T, chunks []*messages.TokenChunk, err error) []byte {
	t.Helper()
	var out struct {
		Chunks []json.RawMessage `json:"chunks"`
		Error  json.RawMessage   `json:"error,omitempty"`
	}
	mo := protojson.MarshalOptions{UseProtoNames: true}
	for _, c := range chunks {
		b, merr := mo.Marshal(c)
		if merr != nil {
			t.Fatal(merr)
		}
		out.Chunks = append(out.Chunks, compact(t, b))
	}
	if err != nil {
		var e *messages.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *messages.Error", err, err)
		}
		b, _ := mo.Marshal(e)
		out.Error = compact(t, b)
	}
	b, merr := json.MarshalIndent(out, "", "  ")
	if merr != nil {
		t.Fatal(merr)
	}
	return append(b, '\n')
}

// compact removes protojson's deliberately unstable whitespace.
func compact(t *testing.T, b []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func renderRequest(t *testing.T, rp *replay) []byte {
	t.Helper()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	headers := map[string]string{}
	var names []string
	for k := range rp.req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch k {
		case "Accept-Encoding", "Content-Length":
			continue // set by the transport
		}
		headers[k] = strings.ReplaceAll(rp.req.Header.Get(k), goldenKey, "{api key}")
	}
	out := struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}{rp.req.Method, rp.req.URL.RequestURI(), headers, rp.body}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got: %s\nwant: %s", name, got, want)
	}
}
