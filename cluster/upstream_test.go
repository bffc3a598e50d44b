package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// upstream is an OpenAI-compatible provider in the test process. It
// records the arrival time of every request and enforces a request limit
// over a sliding window exactly (429 beyond it), like a provider would.
//
// The last user message shapes the answer: "chunks=N delay=D first=F"
// streams N chunks D apart after a first-token delay F.
type upstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	arrivals []time.Time
	rejected int
	window   time.Duration // 0: no limit
	limit    int
}

func newUpstream(t *testing.T, limit int, window time.Duration) *upstream {
	u := &upstream{limit: limit, window: window}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

// endpoint is the base URL a deployment's endpoint key takes.
func (u *upstream) endpoint() string { return u.srv.URL + "/v1" }

func (u *upstream) admit(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.window > 0 {
		n := 0
		for i := len(u.arrivals) - 1; i >= 0 && now.Sub(u.arrivals[i]) < u.window; i-- {
			n++
		}
		if n >= u.limit {
			u.rejected++
			return false
		}
	}
	u.arrivals = append(u.arrivals, now)
	return true
}

// stats returns the admitted arrival times and the number of 429s.
func (u *upstream) stats() ([]time.Time, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]time.Time(nil), u.arrivals...), u.rejected
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !u.admit(time.Now()) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"message":"rate limit","type":"requests","code":"rate_limit_exceeded"}}`)
		return
	}
	chunks, delay, first := 1, time.Duration(0), time.Duration(0)
	if n := len(req.Messages); n > 0 {
		for _, f := range strings.Fields(req.Messages[n-1].Content) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "chunks":
				fmt.Sscan(v, &chunks)
			case "delay":
				delay, _ = time.ParseDuration(v)
			case "first":
				first, _ = time.ParseDuration(v)
			}
		}
	}
	if first > 0 {
		select {
		case <-time.After(first):
		case <-r.Context().Done():
			return
		}
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"up-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":%d,"total_tokens":%d}}`,
			req.Model, strings.Repeat("tok ", chunks), chunks, chunks+3)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	for i := 0; i < chunks; i++ {
		if i > 0 && delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, "data: {\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%d \"},\"finish_reason\":null}]}\n\n", req.Model, i)
		fl.Flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", req.Model)
	fmt.Fprintf(w, "data: {\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", req.Model, chunks, chunks+3)
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

// maxInWindow returns the largest number of arrivals in any window of
// length w (windows start at each arrival).
func maxInWindow(ts []time.Time, w time.Duration) int {
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	best, j := 0, 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < w {
			j++
		}
		if j-i > best {
			best = j - i
		}
	}
	return best
}

// openaiDeployment is a [[deployment]] on the upstream.
func openaiDeployment(name string, u *upstream, extra string) string {
	return fmt.Sprintf(`[[deployment]]
name = %q
runtime = "openai"
model = "up-model"
endpoint = %q
api_key = { from_env = "CLUSTER_TEST_OPENAI_KEY" }
%s
[deployment.retry]
max_retries = 0
`, name, u.endpoint(), extra)
}

const upstreamKeyEnv = "CLUSTER_TEST_OPENAI_KEY=sk-cluster-test"
