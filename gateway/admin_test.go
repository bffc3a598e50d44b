package gateway

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
)

func testStates() []*messages.DeploymentState {
	return []*messages.DeploymentState{
		{
			Name: "demo", Model: "gpt-4o-mini", Runtime: "openai", Transport: "remote_network(openai)",
			Replicas: []*messages.ReplicaState{
				{Index: 0, Healthy: true, InFlight: 2, Restarts: 1, LastRebuildCause: "remote_auth_failure"},
				{Index: 1, Healthy: false, Restarts: 3, LastRebuildCause: "manual", LastError: "rebuilding"},
			},
			Limiter: &messages.LimiterState{RequestsPerMinute: 600, TokensPerMinute: 100000, ConcurrentLimit: 10,
				EffectiveRpm: 300, EffectiveTpm: 50000, InUse: 4, Waiting: 2, GrantedTotal: 100, RejectedTotal: 7},
			Budget: &messages.BudgetState{SpentHourUsd: 1.5, SpentDayUsd: 4, CapHourUsd: 2, CapDayUsd: 0,
				HourResetsAtUnixNano: fixedNow.Add(30 * time.Minute).UnixNano(), OnExceeded: "reject", RejectedTotal: 3},
			Breaker:    &messages.BreakerState{State: "half_open", ConsecutiveFailures: 4, Trips: 2},
			QueueDepth: 5, QueueSize: 1024, InFlight: 2, MaxConcurrent: 50, Healthy: true,
		},
		{Name: "stories", Runtime: "local", Replicas: []*messages.ReplicaState{{Index: 0, Healthy: false}}},
	}
}

func TestAdminDeployments(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "x")).on("stories", reply("stories", "x"))
	be.states = testStates()
	s := newTestServer(t, be, func(o *Options) { o.APIKeys = []string{"sk-admin"} })
	auth := []string{"Authorization", "Bearer sk-admin"}

	resp, body := s.do(t, "GET", "/admin/deployments", "", auth...)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("list = %d %s", resp.StatusCode, body)
	}
	var list struct{ Data []adminDeployment }
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Data) != 2 {
		t.Fatalf("list = %s (%v)", body, err)
	}

	resp, body = s.do(t, "GET", "/admin/deployments/demo", "", auth...)
	if resp.StatusCode != 200 {
		t.Fatalf("one = %d %s", resp.StatusCode, body)
	}
	var d struct {
		Name     string `json:"name"`
		Healthy  bool   `json:"healthy"`
		Replicas []struct {
			Healthy  bool  `json:"healthy"`
			Restarts int64 `json:"restarts"`
		} `json:"replicas"`
		Queue   struct{ Depth, Size int64 } `json:"queue"`
		Limiter struct {
			Configured struct {
				RequestsPerMinute float64 `json:"requests_per_minute"`
			} `json:"configured"`
			Used struct {
				Concurrent int64 `json:"concurrent_requests"`
			} `json:"used"`
			Waiting int64 `json:"waiting"`
		} `json:"limiter"`
		Budget struct {
			Hour struct {
				Spent     float64  `json:"spent_usd"`
				Cap       float64  `json:"cap_usd"`
				Remaining *float64 `json:"remaining_usd"`
				ResetsAt  string   `json:"resets_at"`
			} `json:"hour"`
			Day struct {
				Remaining *float64 `json:"remaining_usd"`
			} `json:"day"`
		} `json:"budget"`
		Breaker struct {
			State string `json:"state"`
		} `json:"breaker"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "demo" || !d.Healthy || len(d.Replicas) != 2 || d.Replicas[1].Restarts != 3 ||
		d.Queue.Depth != 5 || d.Queue.Size != 1024 || d.Limiter.Configured.RequestsPerMinute != 600 ||
		d.Limiter.Used.Concurrent != 4 || d.Limiter.Waiting != 2 || d.Budget.Hour.Spent != 1.5 || d.Budget.Hour.Cap != 2 ||
		d.Budget.Hour.Remaining == nil || *d.Budget.Hour.Remaining != 0.5 || d.Budget.Day.Remaining != nil ||
		d.Budget.Hour.ResetsAt != "2026-01-02T03:34:05Z" || d.Breaker.State != "half_open" {
		t.Errorf("deployment = %s", body)
	}

	resp, body = s.do(t, "GET", "/admin/deployments/nope", "", auth...)
	if e := parseError(t, body); resp.StatusCode != 404 || deref(e.Error.Code) != "deployment_not_found" {
		t.Errorf("unknown deployment = %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do(t, "POST", "/admin/deployments/demo", "", auth...); resp.StatusCode != 405 {
		t.Errorf("POST one = %d, want 405", resp.StatusCode)
	}
}

func TestAdminRebuild(t *testing.T) {
	be := newTestBackend()
	be.states = testStates()
	s := newTestServer(t, be)
	resp, body := s.do(t, "POST", "/admin/deployments/demo/rebuild", "")
	if resp.StatusCode != 200 || len(be.rebuilt) != 1 || be.rebuilt[0] != "demo" {
		t.Errorf("rebuild = %d %s; rebuilt %v", resp.StatusCode, body, be.rebuilt)
	}
	if resp, _ := s.do(t, "POST", "/admin/deployments/nope/rebuild", ""); resp.StatusCode != 404 {
		t.Errorf("rebuild unknown = %d, want 404", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/admin/deployments/demo/rebuild", ""); resp.StatusCode != 405 {
		t.Errorf("GET rebuild = %d, want 405", resp.StatusCode)
	}
}

func TestAdminCircuit(t *testing.T) {
	be := newTestBackend()
	be.states = testStates()
	s := newTestServer(t, be)
	resp, body := s.do(t, "POST", "/admin/deployments/demo/circuit", `{"open_for":"5m"}`)
	if resp.StatusCode != 200 || be.forced["demo"] != 5*time.Minute {
		t.Errorf("circuit = %d %s; forced %v", resp.StatusCode, body, be.forced)
	}
	var ok struct {
		OpenUntil string `json:"open_until"`
	}
	if json.Unmarshal([]byte(body), &ok); ok.OpenUntil != "2026-01-02T03:09:05Z" {
		t.Errorf("open_until = %q", ok.OpenUntil)
	}
	for _, bad := range []string{`{}`, `{"open_for":"soon"}`, `{"open_for":"-1m"}`, `{"open_for":"0s"}`, `{"open_for":"48h"}`, `{"open_for":5}`, `nope`} {
		resp, body := s.do(t, "POST", "/admin/deployments/demo/circuit", bad)
		e := parseError(t, body)
		if resp.StatusCode != 400 || (bad != "nope" && deref(e.Error.Param) != "open_for") {
			t.Errorf("circuit %s = %d %s; want 400 naming open_for", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := s.do(t, "POST", "/admin/deployments/nope/circuit", `{"open_for":"1m"}`); resp.StatusCode != 404 {
		t.Errorf("circuit unknown = %d, want 404", resp.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	be := newTestBackend()
	be.states = testStates()
	s := newTestServer(t, be)
	resp, body := s.do(t, "GET", "/readyz", "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("readyz with an unhealthy deployment = %d %s", resp.StatusCode, body)
	}
	var r struct {
		Status    string   `json:"status"`
		Unhealthy []string `json:"unhealthy"`
	}
	if json.Unmarshal([]byte(body), &r); r.Status != "not_ready" || len(r.Unhealthy) != 1 || r.Unhealthy[0] != "stories" {
		t.Errorf("readyz = %s", body)
	}
	be.mu.Lock()
	be.states[1].Replicas[0].Healthy = true
	be.mu.Unlock()
	if resp, body := s.do(t, "GET", "/readyz", ""); resp.StatusCode != 200 {
		t.Errorf("readyz all healthy = %d %s", resp.StatusCode, body)
	}
	be.mu.Lock()
	be.statesErr = errors.New("actor system down")
	be.mu.Unlock()
	if resp, body := s.do(t, "GET", "/readyz", ""); resp.StatusCode != 503 {
		t.Errorf("readyz without state = %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do(t, "GET", "/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("healthz = %d, want 200 while the process is up", resp.StatusCode)
	}
}
