package gemini

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

// fakeServer is an httptest server that speaks the Gemini API (AI Studio
// paths and x-goog-api-key, or Vertex paths and a bearer token): it answers
// by echoing the last user message word by word (one word per token,
// honouring maxOutputTokens and stopSequences) as one GenerateContentResponse
// or as an alt=sse stream of them, and can be scripted to fail.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	vertex   bool
	key      string // the accepted API key, or bearer token for Vertex
	script   []scripted
	stall    *stallSpec
	requests []recorded
}

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
	path   string
	header http.Header
	body   []byte
}

func newFakeServer(t testing.TB, key string, vertex bool) *fakeServer {
	f := &fakeServer{t: t, key: key, vertex: vertex}
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

// googleError writes a google.rpc.Status error body.
func googleError(w http.ResponseWriter, code int, status, msg, details string) {
	if details == "" {
		details = "[]"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":%q,"details":%s}}`, code, msg, status, details)
}

const apiKeyInvalidDetails = `[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]`

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{path: r.URL.RequestURI(), header: r.Header.Clone(), body: body})
	key, vertex := f.key, f.vertex
	var sc *scripted
	if len(f.script) > 0 {
		s := f.script[0]
		f.script = f.script[1:]
		sc = &s
	}
	stall := f.stall
	f.mu.Unlock()

	prefix := "/v1beta/models/"
	if vertex {
		prefix = "/v1/projects/test-project/locations/us-central1/publishers/google/models/"
	}
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	model, method, ok2 := strings.Cut(rest, ":")
	if r.Method != http.MethodPost || !ok || !ok2 || model == "" ||
		(method != "generateContent" && method != "streamGenerateContent") {
		googleError(w, 404, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	stream := method == "streamGenerateContent"
	if stream && r.URL.Query().Get("alt") != "sse" {
		googleError(w, 400, "INVALID_ARGUMENT", "fake: streams are served as alt=sse only", "")
		return
	}
	if vertex {
		if r.Header.Get("Authorization") != "Bearer "+key {
			googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "")
			return
		}
	} else if r.Header.Get("x-goog-api-key") != key {
		googleError(w, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", apiKeyInvalidDetails)
		return
	}
	if sc != nil && sc.cutAfter == 0 {
		for k, v := range sc.header {
			w.Header()[k] = v
		}
		if sc.sse {
			w.Header().Set("Content-Type", "text/event-stream")
		} else if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		}
		w.WriteHeader(sc.status)
		io.WriteString(w, sc.body)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil || len(req.Contents) == 0 {
		googleError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "")
		return
	}
	words, stopped := answer(&req)
	in := 0
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			in += len(strings.Fields(p.Text))
		}
	}
	reason := "STOP"
	if gc := req.GenerationConfig; !stopped && gc != nil && gc.MaxOutputTokens > 0 && len(words) == gc.MaxOutputTokens {
		reason = "MAX_TOKENS"
	}
	usage := func(out int) map[string]any {
		m := map[string]any{"promptTokenCount": in, "totalTokenCount": in + out}
		if out > 0 {
			m["candidatesTokenCount"] = out
		}
		return m
	}
	chunk := func(text, finish string, out int) map[string]any {
		cand := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}}, "index": 0}
		if finish != "" {
			cand["finishReason"] = finish
		}
		return map[string]any{"candidates": []any{cand}, "usageMetadata": usage(out), "modelVersion": model, "responseId": "fake-1"}
	}
	if !stream {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		json.NewEncoder(w).Encode(chunk(strings.Join(words, ""), reason, len(words)))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	ev := func(data any) {
		b, _ := json.Marshal(data)
		fmt.Fprintf(w, "data: %s\r\n\r\n", b)
		fl.Flush()
	}
	if len(words) == 0 {
		ev(chunk("", reason, 0))
		return
	}
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
		finish := ""
		if i == len(words)-1 {
			finish = reason
		}
		ev(chunk(wd, finish, i+1))
	}
}

// answer echoes the last user text's words (" word" tokens after the
// first), stopping at maxOutputTokens or before the first stop sequence in
// the text.
func answer(req *request) (words []string, stopped bool) {
	var last string
	for _, c := range req.Contents {
		if c.Role != "user" {
			continue
		}
		for _, p := range c.Parts {
			if p.Text != "" {
				last = p.Text
			}
		}
	}
	var max int
	var stops []string
	if gc := req.GenerationConfig; gc != nil {
		max, stops = gc.MaxOutputTokens, gc.StopSequences
	}
	acc := ""
	for i, wd := range strings.Fields(last) {
		if max > 0 && len(words) == max {
			break
		}
		if i > 0 {
			wd = " " + wd
		}
		cand := acc + wd
		for _, s := range stops {
			if j := strings.Index(cand, s); s != "" && j >= 0 {
				if j > len(acc) {
					words = append(words, cand[len(acc):j])
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
