package anthropic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeServer is an httptest server that speaks the Messages API: it checks
// the x-api-key and anthropic-version headers, answers by echoing the last
// user message word by word (one word per token, honouring max_tokens and
// stop_sequences) as JSON or as an SSE stream with the documented events,
// and can be scripted to fail.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	key      string     // the accepted x-api-key
	script   []scripted // consumed one per request, before the default answer
	stall    *stallSpec
	requests []recorded
	rlHeader http.Header // added to every response
}

// scripted is one scripted answer.
type scripted struct {
	status   int
	header   http.Header
	body     string // error body, or a raw SSE transcript when sse is set
	sse      bool
	cutAfter int // > 0: stream this many words, then drop the connection
}

type stallSpec struct {
	after   int
	release chan struct{}
}

type recorded struct {
	header http.Header
	body   []byte
}

func newFakeServer(t testing.TB, key string) *fakeServer {
	f := &fakeServer{t: t, key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) setKey(k string) { f.mu.Lock(); f.key = k; f.mu.Unlock() }

func (f *fakeServer) push(r scripted) { f.mu.Lock(); f.script = append(f.script, r); f.mu.Unlock() }

func (f *fakeServer) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.requests) }

func (f *fakeServer) last() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// stallAfter makes streams send n words and then wait for release (or the
// client going away).
func (f *fakeServer) stallAfter(n int) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &stallSpec{after: n, release: make(chan struct{})}
	f.stall = s
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.stall == s {
				f.stall = nil
			}
			f.mu.Unlock()
			close(s.release)
		})
	}
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{header: r.Header.Clone(), body: body})
	key := f.key
	var sc *scripted
	if len(f.script) > 0 {
		s := f.script[0]
		f.script = f.script[1:]
		sc = &s
	}
	stall := f.stall
	for k, v := range f.rlHeader {
		w.Header()[k] = v
	}
	f.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeError(w, http.StatusNotFound, "not_found_error", "Not found")
		return
	}
	if r.Header.Get("x-api-key") != key {
		writeError(w, http.StatusUnauthorized, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") != apiVersion || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "anthropic-version and content-type are required")
		return
	}
	if sc != nil && sc.cutAfter == 0 {
		for k, v := range sc.header {
			w.Header()[k] = v
		}
		if sc.sse {
			w.Header().Set("Content-Type", "text/event-stream")
		} else if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(sc.status)
		io.WriteString(w, sc.body)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil || req.MaxTokens <= 0 || len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed request")
		return
	}
	words, stopped := answer(&req)
	in := 0
	for _, m := range req.Messages {
		for _, b := range m.Content {
			in += len(strings.Fields(b.Text))
		}
	}
	reason := "end_turn"
	if stopped {
		reason = "stop_sequence"
	} else if len(words) == req.MaxTokens {
		reason = "max_tokens"
	}
	if !req.Stream {
		m := map[string]any{
			"id": "msg_fake", "type": "message", "role": "assistant", "model": req.Model,
			"content":     []map[string]any{{"type": "text", "text": strings.Join(words, "")}},
			"stop_reason": reason, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": in, "output_tokens": len(words)},
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	fl := w.(http.Flusher)
	ev := func(name string, data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		fl.Flush()
	}
	ev("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "content": []any{}, "model": req.Model,
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": in, "output_tokens": 1}}})
	ev("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	ev("ping", map[string]any{"type": "ping"})
	for i, wd := range words {
		if sc != nil && sc.cutAfter > 0 && i == sc.cutAfter {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		if stall != nil && i == stall.after {
			select {
			case <-stall.release:
			case <-r.Context().Done():
				return
			}
		}
		ev("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": wd}})
	}
	ev("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	ev("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": reason, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": len(words)}})
	ev("message_stop", map[string]any{"type": "message_stop"})
}

// answer echoes the last user message's words (" word" tokens after the
// first), stopping at max_tokens or before the first stop sequence in the
// text (the text before it is kept, as the API does).
func answer(req *request) (words []string, stopped bool) {
	var last string
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		for _, b := range m.Content {
			if b.Type == "text" {
				last = b.Text
			}
		}
	}
	acc := ""
	for i, wd := range strings.Fields(last) {
		if len(words) == req.MaxTokens {
			break
		}
		if i > 0 {
			wd = " " + wd
		}
		cand := acc + wd
		for _, s := range req.StopSequences {
			if j := strings.Index(cand, s); s != "" && j >= 0 {
				if part := cand[len(acc):max(j, len(acc))]; part != "" {
					words = append(words, part)
				}
				return words, true
			}
		}
		words = append(words, wd)
		acc = cand
	}
	return words, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
