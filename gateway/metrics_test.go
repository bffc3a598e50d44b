package gateway

import (
	"bytes"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// metricValue returns the value of the series of family name whose labels
// include want: a counter or gauge value, or a histogram's sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// labelValues lists the values label takes in family name.
func labelValues(t *testing.T, reg *prometheus.Registry, name, label string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	set := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					set[l.GetValue()] = true
				}
			}
		}
	}
	var out []string
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func TestMetricsRequests(t *testing.T) {
	be := newTestBackend().
		on("demo", reply("demo", "a", "b", "c")).
		on("rogue", reply("rogue-deployment", "x")).
		on("limited", fail(runners.RateLimitedError("rpm", 0, "slow down")))
	s := newTestServer(t, be, func(o *Options) { o.KnownDeployments = []string{"demo", "limited"} })

	s.chat(t, hiRequest)
	s.chat(t, hiStream)
	s.chat(t, `{"model":"rogue","messages":[{"role":"user","content":"hi"}]}`)
	s.chat(t, `{"model":"user-chosen-name-123","messages":[{"role":"user","content":"hi"}]}`)
	s.chat(t, `{"model":"limited","messages":[{"role":"user","content":"hi"}]}`)
	s.chat(t, `{"model":"demo"}`)

	check := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, ok := metricValue(t, s.reg, name, labels)
		if !ok || got != want {
			t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, want)
		}
	}
	check("actorinfer_gateway_requests_total", map[string]string{"deployment": "demo", "model": "demo", "status_class": "2xx"}, 2)
	check("actorinfer_gateway_requests_total", map[string]string{"deployment": "other", "model": "other", "status_class": "2xx"}, 1)
	check("actorinfer_gateway_requests_total", map[string]string{"deployment": "none", "model": "other", "status_class": "4xx"}, 1)
	check("actorinfer_gateway_requests_total", map[string]string{"deployment": "none", "model": "limited", "status_class": "4xx"}, 1)
	check("actorinfer_gateway_requests_total", map[string]string{"deployment": "none", "model": "none", "status_class": "4xx"}, 1)
	check("actorinfer_gateway_request_duration_seconds", map[string]string{"deployment": "demo", "model": "demo", "stream": "true"}, 1)
	check("actorinfer_gateway_time_to_first_token_seconds", map[string]string{"deployment": "demo", "model": "demo"}, 2)
	check("actorinfer_gateway_inter_token_seconds", map[string]string{"deployment": "demo", "model": "demo"}, 4)
	check("actorinfer_gateway_tokens_total", map[string]string{"deployment": "demo", "model": "demo", "kind": "input"}, 24)
	check("actorinfer_gateway_tokens_total", map[string]string{"deployment": "demo", "model": "demo", "kind": "output"}, 6)
	check("actorinfer_gateway_tokens_total", map[string]string{"deployment": "demo", "model": "demo", "kind": "cached_input"}, 8)
	check("actorinfer_gateway_cost_usd_total", map[string]string{"deployment": "demo", "model": "demo"}, 0.005)
	check("actorinfer_gateway_overhead_seconds", map[string]string{"stream": "false"}, 5)
	check("actorinfer_gateway_in_flight_requests", nil, 0)

	for _, label := range []string{"deployment", "model"} {
		for _, v := range labelValues(t, s.reg, "actorinfer_gateway_requests_total", label) {
			switch v {
			case "demo", "limited", "other", "none":
			default:
				t.Errorf("unbounded %s label %q", label, v)
			}
		}
	}
}

func TestMetricsStreamErrors(t *testing.T) {
	be := newTestBackend().on("demo", cut("demo", &messages.Error{Code: runners.CodeNetwork}, "a"))
	s := newTestServer(t, be)
	s.chat(t, hiStream)
	if v, _ := metricValue(t, s.reg, "actorinfer_gateway_stream_errors_total",
		map[string]string{"deployment": "demo", "model": "demo", "code": "upstream_network_error"}); v != 1 {
		t.Errorf("stream errors = %v, want 1", v)
	}
}

func TestMetricsDeploymentState(t *testing.T) {
	be := newTestBackend().on("demo", reply("demo", "x"))
	be.states = append(testStates(), &messages.DeploymentState{Name: "unlisted-1"}, &messages.DeploymentState{Name: "unlisted-2"})
	s := newTestServer(t, be, func(o *Options) { o.KnownDeployments = []string{"demo", "stories"} })

	check := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, ok := metricValue(t, s.reg, name, labels)
		if !ok || got != want {
			t.Errorf("%s%v = %v (found %v), want %v", name, labels, got, ok, want)
		}
	}
	demo := func(kv ...string) map[string]string {
		m := map[string]string{"deployment": "demo"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	check("actorinfer_deployment_state_up", nil, 1)
	check("actorinfer_deployment_healthy", demo(), 1)
	check("actorinfer_deployment_healthy", map[string]string{"deployment": "stories"}, 0)
	check("actorinfer_replica_healthy", demo("replica", "1"), 0)
	check("actorinfer_replica_restarts_total", demo("replica", "1"), 3)
	check("actorinfer_replica_last_rebuild_info", demo("replica", "0", "cause", "remote_auth_failure"), 1)
	check("actorinfer_deployment_queue_depth", demo(), 5)
	check("actorinfer_limiter_waiting", demo(), 2)
	check("actorinfer_limiter_rejected_total", demo(), 7)
	check("actorinfer_limiter_requests_per_minute", demo("kind", "effective"), 300)
	check("actorinfer_budget_spent_usd", demo("window", "hour"), 1.5)
	check("actorinfer_budget_remaining_usd", demo("window", "hour"), 0.5)
	check("actorinfer_budget_rejected_total", demo(), 3)
	check("actorinfer_breaker_state", demo("state", "half_open"), 1)
	check("actorinfer_breaker_state", demo("state", "open"), 0)
	check("actorinfer_breaker_trips_total", demo(), 2)
	if _, ok := metricValue(t, s.reg, "actorinfer_budget_remaining_usd", demo("window", "day")); ok {
		t.Errorf("budget_remaining_usd for an uncapped window is exported")
	}
	if got := labelValues(t, s.reg, "actorinfer_deployment_healthy", "deployment"); strings.Join(got, ",") != "demo,other,stories" {
		t.Errorf("deployment labels = %v, want demo, other, stories", got)
	}

	be.mu.Lock()
	be.statesErr = errors.New("actor system unavailable")
	be.mu.Unlock()
	check("actorinfer_deployment_state_up", nil, 0)
}

func TestNoSecretsInLogsOrMetrics(t *testing.T) {
	var logs bytes.Buffer
	be := newTestBackend().on("demo", fail(runners.Errorf(runners.CodeServerError, "upstream 500")))
	s := newTestServer(t, be, func(o *Options) {
		o.APIKeys = []string{"sk-very-secret"}
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	resp, _ := s.chat(t, hiRequest, "Authorization", "Bearer sk-very-secret")
	if resp.StatusCode != 502 {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	s.chat(t, hiRequest, "Authorization", "Bearer sk-guess")
	_, metricsText := s.do(t, "GET", "/metrics", "")
	if !strings.Contains(logs.String(), "chat completion failed") {
		t.Errorf("the 502 was not logged: %q", logs.String())
	}
	for _, text := range []string{logs.String(), metricsText} {
		if strings.Contains(text, "sk-very-secret") || strings.Contains(text, "sk-guess") {
			t.Errorf("a key leaked:\n%s", text)
		}
	}
}
