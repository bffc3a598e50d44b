package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOpenAI is an httptest server that speaks the documented Chat
// Completions wire format: it answers with the words of the last user
// message, one word per chunk, honouring max_tokens / max_completion_tokens
// and stop, with the usage chunk when stream_options.include_usage is set.
// Its fault switches reproduce a provider's failures.
type fakeOpenAI struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	key       string // accepted credential
	azure     bool   // Azure path, api-version and api-key header
	entra     bool   // Azure with a bearer token
	noUsage   bool   // a compatible server that never reports usage
	model     string
	rateLimit time.Duration // next request: 429 with this hint
	cutAfter  int           // next stream: cut after this many chunks (-1 off)
	stall     int           // streams: stall after this many chunks (-1 off)
	release   chan struct{}
	requests  []seenRequest
	// failures are answered, one per request, before normal service.
	failures []func(w http.ResponseWriter)

	hits atomic.Int32
}

type seenRequest struct {
	Path   string
	Header http.Header
	Body   chatRequest
	Raw    []byte
}

func newFakeOpenAI(t *testing.T, key string) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{t: t, key: key, model: "gpt-4o-mini-2024-07-18", cutAfter: -1, stall: -1, release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.releaseStall)
	return f
}

func (f *fakeOpenAI) setKey(k string) { f.mu.Lock(); f.key = k; f.mu.Unlock() }

func (f *fakeOpenAI) rateLimitNext(d time.Duration) { f.mu.Lock(); f.rateLimit = d; f.mu.Unlock() }

func (f *fakeOpenAI) cutNext(after int) { f.mu.Lock(); f.cutAfter = after; f.mu.Unlock() }

func (f *fakeOpenAI) stallAfter(after int) func() {
	f.mu.Lock()
	f.stall = after
	f.release = make(chan struct{})
	f.mu.Unlock()
	return f.releaseStall
}

func (f *fakeOpenAI) releaseStall() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stall = -1
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

func (f *fakeOpenAI) lastRequest() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("the server saw no request")
	}
	return f.requests[len(f.requests)-1]
}

func writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	c := "null"
	if code != "" {
		c = strconv.Quote(code)
	}
	fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":%s}}`+"\n", msg, typ, c)
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	raw, _ := io.ReadAll(r.Body)
	var req chatRequest
	f.mu.Lock()
	key, azure, entra, noUsage, model := f.key, f.azure, f.entra, f.noUsage, f.model
	rl := f.rateLimit
	f.rateLimit = 0
	var fail func(w http.ResponseWriter)
	if len(f.failures) > 0 {
		fail, f.failures = f.failures[0], f.failures[1:]
	}
	f.mu.Unlock()
	if fail != nil {
		fail(w)
		return
	}

	wantPath := "/v1/chat/completions"
	if azure {
		wantPath = "/openai/deployments/my-gpt4o/chat/completions"
		if r.URL.Query().Get("api-version") == "" {
			writeError(w, 404, "Resource not found", "", "404")
			return
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != wantPath {
		writeError(w, 404, "Unknown request URL: "+r.Method+" "+r.URL.Path, "invalid_request_error", "unknown_url")
		return
	}
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if azure && !entra {
		got = r.Header.Get("api-key")
	}
	if key != "" && got != key {
		writeError(w, 401, "Incorrect API key provided: "+got+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")
		return
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, 400, "We could not parse the JSON body of your request.", "invalid_request_error", "")
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, seenRequest{Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: req, Raw: raw})
	f.mu.Unlock()
	w.Header().Set("x-request-id", "req_"+strconv.Itoa(int(f.hits.Load())))
	w.Header().Set("x-ratelimit-limit-requests", "10000")
	w.Header().Set("x-ratelimit-remaining-requests", "9999")
	w.Header().Set("x-ratelimit-remaining-tokens", "199000")
	w.Header().Set("x-ratelimit-reset-requests", "6ms")
	w.Header().Set("x-ratelimit-reset-tokens", "300ms")
	if rl > 0 {
		w.Header().Set("retry-after-ms", strconv.FormatInt(rl.Milliseconds(), 10))
		w.Header().Set("Retry-After", strconv.Itoa(int((rl+time.Second-1)/time.Second)))
		writeError(w, 429, "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1.", "requests", "rate_limit_exceeded")
		return
	}
	tokens, finish := answer(&req)
	prompt := 0
	for _, m := range req.Messages {
		if s, ok := m.Content.(string); ok {
			prompt += len(strings.Fields(s))
		}
		prompt += 3
	}
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`,
		prompt, len(tokens), prompt+len(tokens))
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		u := `,"usage":` + usage
		if noUsage {
			u = ""
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":%q}]%s,"service_tier":"default","system_fingerprint":"fp_44709d6fcb"}`,
			model, strings.Join(tokens, ""), finish, u)
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !noUsage
	nullUsage := ""
	if includeUsage {
		nullUsage = `,"usage":null`
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	fl := w.(http.Flusher)
	head := fmt.Sprintf(`{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741569952,"model":%q,"service_tier":"default","system_fingerprint":"fp_44709d6fcb",`, model)
	send := func(body string) {
		io.WriteString(w, "data: "+head+body+"\n\n")
		fl.Flush()
	}
	send(`"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]` + nullUsage + `}`)
	for i, tok := range tokens {
		f.mu.Lock()
		cut, stall, release := f.cutAfter, f.stall, f.release
		if cut == i {
			f.cutAfter = -1
		}
		f.mu.Unlock()
		if cut == i {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if stall == i {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		send(fmt.Sprintf(`"choices":[{"index":0,"delta":{"content":%q},"logprobs":null,"finish_reason":null}]`, tok) + nullUsage + `}`)
	}
	send(fmt.Sprintf(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":%q}]`, finish) + nullUsage + `}`)
	if includeUsage {
		send(`"choices":[],"usage":` + usage + `}`)
	}
	io.WriteString(w, "data: [DONE]\n\n")
	fl.Flush()
}

// answer returns the reply tokens, the words of the last user message, cut
// at a stop sequence or at max tokens, and the finish reason.
func answer(req *chatRequest) ([]string, string) {
	var last string
	for _, m := range req.Messages {
		if m.Role == "user" {
			if s, ok := m.Content.(string); ok {
				last = s
			}
		}
	}
	words := strings.Fields(last)
	full := strings.Join(words, " ")
	finish := "stop"
	cut := len(full)
	for _, s := range req.Stop {
		if i := strings.Index(full, s); i >= 0 && i < cut {
			cut = i
		}
	}
	var tokens []string
	pos := 0
	for i, w := range words {
		tok := w
		if i > 0 {
			tok = " " + w
		}
		if pos+len(tok) > cut {
			if rest := full[pos:cut]; rest != "" {
				tokens = append(tokens, rest)
			}
			break
		}
		tokens = append(tokens, tok)
		pos += len(tok)
	}
	max := int(req.MaxCompletionTokens)
	if req.MaxTokens > 0 {
		max = int(req.MaxTokens)
	}
	if max > 0 && len(tokens) > max {
		tokens, finish = tokens[:max], "length"
	}
	return tokens, finish
}
