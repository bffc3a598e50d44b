package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fixedNow is the clock of every test server.
var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// seqIDs returns a deterministic id generator: id1, id2, ...
func seqIDs() func() string {
	var n atomic.Int64
	return func() string { return "id" + strconv.FormatInt(n.Add(1), 10) }
}

type testServer struct {
	*httptest.Server
	gw  *Server
	be  *testBackend
	reg *prometheus.Registry
}

// newTestServer serves a gateway over be; opts may adjust the options.
func newTestServer(t *testing.T, be *testBackend, opts ...func(*Options)) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := Options{Registry: reg, Now: func() time.Time { return fixedNow }, NewID: seqIDs()}
	for _, f := range opts {
		f(&o)
	}
	gw := New(o, be)
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, gw: gw, be: be, reg: reg}
}

// do sends a request and returns the response with its body read.
func (s *testServer) do(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, string(b)
}

func (s *testServer) chat(t *testing.T, body string, header ...string) (*http.Response, string) {
	t.Helper()
	return s.do(t, http.MethodPost, "/v1/chat/completions", body, header...)
}

// errorBody is OpenAI's error JSON.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func parseError(t *testing.T, body string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error body (%v): %s", err, body)
	}
	return e
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// within fails the test unless ch delivers before the deadline.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func TestRoutes(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "hi"))
	s := newTestServer(t, be)
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/healthz", 200, "application/json"},
		{"HEAD", "/healthz", 200, "application/json"},
		{"POST", "/healthz", 405, "application/json"},
		{"GET", "/v1/chat/completions", 405, "application/json"},
		{"GET", "/v1/models", 200, "application/json"},
		{"GET", "/nope", 404, "application/json"},
		{"GET", "/admin/deployments/x/explode", 404, "application/json"},
		{"GET", "/metrics", 200, "text/plain"},
	}
	for _, tt := range tests {
		resp, body := s.do(t, tt.method, tt.path, "")
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
			t.Errorf("%s %s = %d %q; want %d %q (%s)", tt.method, tt.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), tt.status, tt.contentType, body)
		}
		if resp.StatusCode == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}
}

func TestModels(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "hi")).on("auto", reply("demo", "hi"))
	s := newTestServer(t, be)
	resp, body := s.do(t, "GET", "/v1/models", "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/models = %d %s", resp.StatusCode, body)
	}
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, OwnedBy string
			Created             int64
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 2 || list.Data[0].ID != "demo" || list.Data[1].ID != "auto" ||
		list.Data[0].Object != "model" || list.Data[0].Created != 1700000000 {
		t.Errorf("GET /v1/models = %s", body)
	}
}

func TestRequestID(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "hi"))
	s := newTestServer(t, be)
	req := `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`

	resp, _ := s.chat(t, req, "X-Request-Id", "abc-123_x.y:z")
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123_x.y:z" {
		t.Errorf("x-request-id = %q, want the client's", got)
	}
	if got := be.lastBatch().GetRequestId(); got != "abc-123_x.y:z" {
		t.Errorf("batch request id = %q, want the client's", got)
	}
	resp, _ = s.chat(t, req, "X-Request-Id", "bad id\twith<stuff>")
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \t<>") {
		t.Errorf("x-request-id = %q, want a generated one", got)
	}
	if resp.Header.Get("X-Request-Id") != be.lastBatch().GetRequestId() {
		t.Errorf("header %q and batch %q request ids differ", resp.Header.Get("X-Request-Id"), be.lastBatch().GetRequestId())
	}
}

func TestAuth(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "hi"))
	s := newTestServer(t, be, func(o *Options) { o.APIKeys = []string{"sk-one", "sk-two"} })
	req := `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, method, path, body, auth string
		status                         int
	}{
		{"none", "POST", "/v1/chat/completions", req, "", 401},
		{"wrong", "POST", "/v1/chat/completions", req, "Bearer sk-three", 401},
		{"prefix of a key", "POST", "/v1/chat/completions", req, "Bearer sk-on", 401},
		{"not bearer", "POST", "/v1/chat/completions", req, "Basic sk-one", 401},
		{"first key", "POST", "/v1/chat/completions", req, "Bearer sk-one", 200},
		{"second key", "POST", "/v1/chat/completions", req, "Bearer sk-two", 200},
		{"models", "GET", "/v1/models", "", "", 401},
		{"models ok", "GET", "/v1/models", "", "Bearer sk-two", 200},
		{"admin", "GET", "/admin/deployments", "", "", 401},
		{"admin ok", "GET", "/admin/deployments", "", "Bearer sk-one", 200},
		{"healthz open", "GET", "/healthz", "", "", 200},
		{"metrics open", "GET", "/metrics", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.auth != "" {
				h = []string{"Authorization", tt.auth}
			}
			resp, body := s.do(t, tt.method, tt.path, tt.body, h...)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s with %q = %d, want %d: %s", tt.method, tt.path, tt.auth, resp.StatusCode, tt.status, body)
			}
			if tt.status == 401 {
				e := parseError(t, body)
				if e.Error.Type != "authentication_error" || deref(e.Error.Code) != "invalid_api_key" {
					t.Errorf("401 body = %s", body)
				}
				if strings.Contains(body, "sk-") {
					t.Errorf("401 body echoes a key: %s", body)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{MaxBodyBytes: -1}, {RequestTimeout: -1}, {StateTimeout: -1}, {APIKeys: []string{" "}}} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
	if err := (&Options{}).Validate(); err != nil {
		t.Errorf("zero Options: Validate() = %v, want nil", err)
	}
}

func TestDrain(t *testing.T) {
	h := newHang("first")
	be := newTestBackend().on("slow", h.script).on("demo", reply("demo", "hi"))
	s := newTestServer(t, be)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	within(t, h.started, "the stream to start")

	// A Drain whose context is already done marks the server draining and
	// returns at once, since a request is in flight.
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if err := s.gw.Drain(done); err != context.Canceled {
		t.Fatalf("Drain(cancelled ctx) with a request in flight = %v, want context.Canceled", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- s.gw.Drain(context.Background()) }()
	r2, body := s.chat(t, `{"model":"demo","messages":[{"role":"user","content":"hi"}]}`)
	if r2.StatusCode != 503 || r2.Header.Get("Retry-After") == "" {
		t.Errorf("request while draining = %d (Retry-After %q) %s; want 503 with Retry-After", r2.StatusCode, r2.Header.Get("Retry-After"), body)
	}
	if r3, _ := s.do(t, "GET", "/readyz", ""); r3.StatusCode != 503 {
		t.Errorf("/readyz while draining = %d, want 503", r3.StatusCode)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with a request in flight", err)
	default:
	}
	cancel() // the in-flight client goes away
	if err := within(t, drained, "Drain"); err != nil {
		t.Errorf("Drain = %v, want nil", err)
	}
	if err := s.gw.Drain(done); err != nil {
		t.Errorf("second Drain with nothing in flight = %v, want nil", err)
	}
}

func TestModelRetrieve(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")))
	resp, body := s.do(t, "GET", "/v1/models/demo", "")
	var m struct{ ID, Object string }
	if json.Unmarshal([]byte(body), &m); resp.StatusCode != 200 || m.ID != "demo" || m.Object != "model" {
		t.Errorf("GET /v1/models/demo = %d %s", resp.StatusCode, body)
	}
	resp, body = s.do(t, "GET", "/v1/models/nope", "")
	if e := parseError(t, body); resp.StatusCode != 404 || deref(e.Error.Code) != "model_not_found" {
		t.Errorf("GET /v1/models/nope = %d %s", resp.StatusCode, body)
	}
}

func TestAuthSchemeCaseInsensitive(t *testing.T) {
	s := newTestServer(t, newTestBackend().on("demo", reply("demo", "hi")), func(o *Options) { o.APIKeys = []string{"sk-one"} })
	if resp, body := s.do(t, "GET", "/v1/models", "", "Authorization", "bearer sk-one"); resp.StatusCode != 200 {
		t.Errorf("lower-case scheme = %d %s", resp.StatusCode, body)
	}
}
