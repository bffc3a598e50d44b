package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// instantHandle replays fixed chunks: a backend that costs nothing, so the
// benchmarks measure the gateway alone.
type instantHandle struct {
	chunks []*messages.TokenChunk
	i      int
}

func (h *instantHandle) Recv() (*messages.TokenChunk, error) {
	if h.i == len(h.chunks) {
		return nil, io.EOF
	}
	h.i++
	return h.chunks[h.i-1], nil
}

func (h *instantHandle) Close() error { return nil }

func instant(pieces ...string) script {
	cs := chunks("demo", "", pieces...)
	return func(context.Context, *messages.ExecuteBatch) (runners.RunHandle, error) {
		return &instantHandle{chunks: cs}, nil
	}
}

// discardWriter is a reusable http.ResponseWriter and http.Flusher.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}
func (w *discardWriter) Flush() {}

// resettableBody lets one *http.Request be served again and again.
type resettableBody struct{ bytes.Reader }

func (*resettableBody) Close() error { return nil }

func benchHandler(b *testing.B, body string, pieces int) {
	ps := make([]string, pieces)
	for i := range ps {
		ps[i] = "token "
	}
	be := newTestBackend().on("demo", instant(ps...)).on("gpt-4o-mini", instant(ps...))
	gw := New(Options{Registry: prometheus.NewRegistry(), APIKeys: []string{"sk-bench"}}, be)
	rb := &resettableBody{}
	req, err := http.NewRequest(http.MethodPost, "/v1/chat/completions", rb)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-bench")
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	w := &discardWriter{h: http.Header{}}
	be.batches = nil
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset([]byte(body))
		clear(w.h)
		w.status = 0
		gw.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
		be.mu.Lock()
		be.batches = be.batches[:0]
		be.mu.Unlock()
	}
	b.ReportMetric(float64(w.n)/float64(b.N), "B/resp")
}

// BenchmarkHandlerUnary serves a non-stream completion of 16 chunks.
func BenchmarkHandlerUnary(b *testing.B) {
	benchHandler(b, string(benchRequest), 16)
}

// BenchmarkHandlerStream serves a streamed completion of 16 chunks with
// usage: 16 content events, role, finish, usage and [DONE].
func BenchmarkHandlerStream(b *testing.B) {
	benchHandler(b, `{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Write a haiku about the sea."}]}`, 16)
}

func BenchmarkAppendString(b *testing.B) {
	s := "Hello, world! A plain ASCII token stream with \"quotes\" and a newline\n and é."
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendString(buf[:0], s)
	}
}

// BenchmarkHTTPUnary is a whole round trip over loopback HTTP/1.1 with a
// keep-alive connection: net/http client and server included, so it bounds
// what one request costs end to end (both ends share the CPUs).
func BenchmarkHTTPUnary(b *testing.B) {
	be := newTestBackend().on("gpt-4o-mini", instant("Hello", ", ", "world"))
	gw := New(Options{Registry: prometheus.NewRegistry(), APIKeys: []string{"sk-bench"}}, be)
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(benchRequest))
		req.Header.Set("Authorization", "Bearer sk-bench")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		be.mu.Lock()
		be.batches = be.batches[:0]
		be.mu.Unlock()
	}
}
