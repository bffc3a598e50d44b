package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

const benchChunk = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null}`

// BenchmarkChunkDecode measures decoding one chat.completion.chunk into a
// TokenChunk (JSON decode plus mapping), per chunk.
func BenchmarkChunkDecode(b *testing.B) {
	st := &streamState{requestID: "r"}
	data := []byte(benchChunk)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var c chatResponse
	for b.Loop() {
		c = chatResponse{}
		if err := jsonUnmarshal(data, &c); err != nil {
			b.Fatal(err)
		}
		if st.absorb(&c, false) == nil {
			b.Fatal("no chunk")
		}
	}
}

// BenchmarkStream measures a whole streamed request of 1000 chunks through
// the runner against a loopback server: Execute, SSE decoding, JSON
// decoding and the handle. ns/chunk and allocs/op ÷ 1000 are the per-chunk
// figures.
func BenchmarkStream(b *testing.B) {
	const chunks = 1000
	var body strings.Builder
	for range chunks {
		body.WriteString("data: " + benchChunk + "\n\n")
	}
	body.WriteString(`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n")
	body.WriteString(`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":1000,"total_tokens":1010}}` + "\n\ndata: [DONE]\n\n")
	payload := body.String()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, payload)
	}))
	defer srv.Close()
	r, err := New(Static(Config{Config: httpapi.Config{Endpoint: srv.URL, Model: "gpt-4o", APIKey: httpapi.Secret{Inline: "k-bench"}}}), Options{})
	if err != nil {
		b.Fatal(err)
	}
	batch := &messages.ExecuteBatch{Stream: true, Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "hi"}}}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		h, err := r.Execute(context.Background(), batch)
		if err != nil {
			b.Fatal(err)
		}
		out, err := runners.ReadAll(h)
		if err != nil || len(out) != chunks+1 {
			b.Fatal(fmt.Sprint(len(out), err))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*chunks), "ns/chunk")
}

func FuzzChunk(f *testing.F) {
	f.Add([]byte(benchChunk))
	f.Add([]byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"function":{"arguments":"{"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`{"error":{"message":"x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &streamState{requestID: "r"}
		var c chatResponse
		if jsonUnmarshal(data, &c) != nil {
			return
		}
		if out := st.absorb(&c, false); out != nil && out.GetText() == "" && out.GetReasoning() == "" && len(out.GetToolCalls()) == 0 {
			t.Fatalf("empty chunk from %s", data)
		}
		st.absorb(&c, true)
	})
}

// FuzzStream feeds arbitrary bytes to the runner as an SSE response body:
// the stream must end either complete (finish reason and usage on the last
// chunk only) or with a typed error, never hang or panic.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tool_calls.sse", "stream_error.sse", "azure_stream_content_filter.sse", "compat_stream_no_usage.sse", "malformed_chunk.sse"} {
		if b, err := os.ReadFile(filepath.Join(goldenDir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("data: [DONE]\n\n"))
	f.Add([]byte("event: error\ndata: {}\n\n"))
	f.Fuzz(checkStreamBody)
}

// fuzzTarget is one server and runner shared by FuzzStream's inputs (the
// fuzz function runs them one at a time), so that fuzzing does not churn
// sockets.
var fuzzTarget struct {
	once sync.Once
	body atomic.Pointer[[]byte]
	r    *Runner
	err  error
}

// checkStreamBody is FuzzStream's check of one body.
func checkStreamBody(t *testing.T, body []byte) {
	ft := &fuzzTarget
	ft.once.Do(func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write(*ft.body.Load())
		}))
		ft.r, ft.err = New(Static(Config{Config: httpapi.Config{Endpoint: srv.URL, Model: "gpt-4o", MaxSSELine: 4096,
			Retry: httpapi.RetryPolicy{NoRetries: true}}, Runtime: runners.RuntimeLiteLLM}), Options{})
	})
	if ft.err != nil {
		t.Fatal(ft.err)
	}
	ft.body.Store(&body)
	r := ft.r
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "x"}}})
	if err != nil {
		t.Fatalf("Execute = %v", err)
	}
	chunks, err := runners.ReadAll(h)
	if err != nil {
		var e *messages.Error
		if !errors.As(err, &e) || e.GetCode() == messages.ErrorCode_ERROR_CODE_UNSPECIFIED {
			t.Fatalf("untyped error %v", err)
		}
		for _, c := range chunks {
			if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
				t.Fatalf("a failed stream carries a finish reason: %v", c)
			}
		}
		return
	}
	if len(chunks) == 0 {
		t.Fatal("a complete stream without chunks")
	}
	for i, c := range chunks {
		last := i == len(chunks)-1
		if (c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED) != last || (c.GetUsage() != nil) != last {
			t.Fatalf("chunk %d/%d = %v", i, len(chunks), c)
		}
	}
}
