package gateway

import (
	"context"
	"strconv"
	"sync"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's per-request metrics. Label values are bounded
// by Server.label: configured names, "other" and "none".
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	ttft         *prometheus.HistogramVec
	interToken   *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	cost         *prometheus.CounterVec
	streamErrors *prometheus.CounterVec
	inFlight     prometheus.Gauge
	overheadVec  *prometheus.HistogramVec
	overhead     [2]prometheus.Observer // by stream false/true

	mu     sync.RWMutex
	series map[seriesKey]*series
}

type seriesKey struct{ deployment, model string }

// series holds one (deployment, model) pair's resolved metrics, so the hot
// path does no label hashing.
type series struct {
	key             seriesKey
	requests        [4]prometheus.Counter // 2xx, 3xx, 4xx, 5xx
	duration        [2]prometheus.Observer
	ttft            prometheus.Observer
	interToken      prometheus.Observer
	tokensIn        prometheus.Counter
	tokensOut       prometheus.Counter
	tokensCached    prometheus.Counter
	tokensReasoning prometheus.Counter
	cost            prometheus.Counter
}

var statusClasses = [4]string{"2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	switch {
	case status >= 500:
		return 3
	case status >= 400:
		return 2
	case status >= 300:
		return 1
	}
	return 0
}

// Latency buckets: LLM requests run from milliseconds to minutes.
var (
	latencyBuckets  = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	tokenBuckets    = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	overheadBuckets = prometheus.ExponentialBuckets(1e-6, 2, 18) // 1µs .. 131ms
)

func newMetrics() *metrics {
	dm := []string{"deployment", "model"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_gateway_requests_total",
			Help: "Chat completion requests by serving deployment, requested model and HTTP status class.",
		}, []string{"deployment", "model", "status_class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actorinfer_gateway_request_duration_seconds", Buckets: latencyBuckets,
			Help: "Total time of a chat completion request, from arrival to the last byte.",
		}, []string{"deployment", "model", "stream"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actorinfer_gateway_time_to_first_token_seconds", Buckets: latencyBuckets,
			Help: "Time from a request's arrival to its first chunk from the backend.",
		}, dm),
		interToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actorinfer_gateway_inter_token_seconds", Buckets: tokenBuckets,
			Help: "Time between consecutive chunks of one answer.",
		}, dm),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_gateway_tokens_total",
			Help: "Tokens by kind: input, output, cached_input (part of input), reasoning (part of output).",
		}, []string{"deployment", "model", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_gateway_cost_usd_total",
			Help: "Cost in USD of completed requests, as the deployments reported it.",
		}, dm),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_gateway_stream_errors_total",
			Help: "Streams that failed after their first byte (sent as an in-band error event), by error code.",
		}, []string{"deployment", "model", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "actorinfer_gateway_in_flight_requests",
			Help: "Chat completion requests being served.",
		}),
		overheadVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "actorinfer_gateway_overhead_seconds", Buckets: overheadBuckets,
			Help: "Time a request spent in the gateway's own code (decoding, encoding, writing), excluding waits on the backend.",
		}, []string{"stream"}),
		series: map[seriesKey]*series{},
	}
	m.overhead[0] = m.overheadVec.WithLabelValues("false")
	m.overhead[1] = m.overheadVec.WithLabelValues("true")
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.ttft, m.interToken, m.tokens, m.cost,
		m.streamErrors, m.inFlight, m.overheadVec}
}

// seriesFor returns the resolved metrics of a bounded (deployment, model)
// pair, creating them on first use.
func (m *metrics) seriesFor(deployment, model string) *series {
	k := seriesKey{deployment, model}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s != nil {
		return s
	}
	s = &series{
		key:             k,
		ttft:            m.ttft.WithLabelValues(deployment, model),
		interToken:      m.interToken.WithLabelValues(deployment, model),
		tokensIn:        m.tokens.WithLabelValues(deployment, model, "input"),
		tokensOut:       m.tokens.WithLabelValues(deployment, model, "output"),
		tokensCached:    m.tokens.WithLabelValues(deployment, model, "cached_input"),
		tokensReasoning: m.tokens.WithLabelValues(deployment, model, "reasoning"),
		cost:            m.cost.WithLabelValues(deployment, model),
	}
	for i, c := range statusClasses {
		s.requests[i] = m.requests.WithLabelValues(deployment, model, c)
	}
	s.duration[0] = m.duration.WithLabelValues(deployment, model, "false")
	s.duration[1] = m.duration.WithLabelValues(deployment, model, "true")
	m.series[k] = s
	return s
}

// stateCollector is a prometheus.Collector that reads
// Backend.DeploymentStates at scrape time: replicas, limiter, budget,
// breaker and queue of every deployment.
type stateCollector struct {
	s *Server

	up, healthy, replicaHealthy, restarts, lastRebuild                 *prometheus.Desc
	queueDepth, queueSize, inFlight, maxConcurrent, throttle           *prometheus.Desc
	limInUse, limWaiting, limGranted, limRejected, limRPM, limTPM      *prometheus.Desc
	limConcurrency, limPausedUntil                                     *prometheus.Desc
	budSpent, budCap, budRemaining, budReserved, budRejected, budReset *prometheus.Desc
	budThrottled                                                       *prometheus.Desc
	brState, brTrips, brFailures                                       *prometheus.Desc
}

func newStateCollector(s *Server) *stateCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"deployment"}, labels...), nil)
	}
	return &stateCollector{
		s:              s,
		up:             prometheus.NewDesc("actorinfer_deployment_state_up", "1 when the last scrape could read the deployments' state from the actor system.", nil, nil),
		healthy:        d("actorinfer_deployment_healthy", "1 when the deployment has a healthy replica."),
		replicaHealthy: d("actorinfer_replica_healthy", "1 when the replica is healthy.", "replica"),
		restarts:       d("actorinfer_replica_restarts_total", "Times the replica's runner was restarted by its supervisor.", "replica"),
		lastRebuild:    d("actorinfer_replica_last_rebuild_info", "The cause of the replica's last session rebuild (value 1).", "replica", "cause"),
		queueDepth:     d("actorinfer_deployment_queue_depth", "Requests waiting in the deployment's queue."),
		queueSize:      d("actorinfer_deployment_queue_size", "The deployment's configured queue size."),
		inFlight:       d("actorinfer_deployment_in_flight", "Requests running on the deployment's replicas."),
		maxConcurrent:  d("actorinfer_deployment_max_concurrent", "The deployment's configured concurrency."),
		throttle:       d("actorinfer_deployment_throttle_factor", "Concurrency scale applied by a budget throttle (1 = off)."),
		limInUse:       d("actorinfer_limiter_in_use", "Concurrency permits held."),
		limWaiting:     d("actorinfer_limiter_waiting", "Requests waiting for a rate limit permit."),
		limGranted:     d("actorinfer_limiter_granted_total", "Rate limit permits granted."),
		limRejected:    d("actorinfer_limiter_rejected_total", "Rate limit permits refused."),
		limRPM:         d("actorinfer_limiter_requests_per_minute", "Request rate limit, as configured and as in effect after provider back-off.", "kind"),
		limTPM:         d("actorinfer_limiter_tokens_per_minute", "Token rate limit, as configured and as in effect after provider back-off.", "kind"),
		limConcurrency: d("actorinfer_limiter_concurrent_limit", "Configured concurrent request limit (0 = none)."),
		limPausedUntil: d("actorinfer_limiter_paused_until_seconds", "Unix time until which the limiter is paused by a provider 429 (0 = not paused)."),
		budSpent:       d("actorinfer_budget_spent_usd", "Spend in the current budget window.", "window"),
		budCap:         d("actorinfer_budget_cap_usd", "Budget cap of the window (absent = none).", "window"),
		budRemaining:   d("actorinfer_budget_remaining_usd", "Budget left in the window (absent = no cap).", "window"),
		budReserved:    d("actorinfer_budget_reserved_usd", "Spend reserved by requests in flight."),
		budRejected:    d("actorinfer_budget_rejected_total", "Requests refused by the budget."),
		budReset:       d("actorinfer_budget_resets_at_seconds", "Unix time at which the window resets.", "window"),
		budThrottled:   d("actorinfer_budget_throttled", "1 while the budget throttles the deployment."),
		brState:        d("actorinfer_breaker_state", "1 for the circuit breaker's current state.", "state"),
		brTrips:        d("actorinfer_breaker_trips_total", "Times the circuit breaker opened."),
		brFailures:     d("actorinfer_breaker_consecutive_failures", "Consecutive failures the breaker has counted."),
	}
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.healthy, c.replicaHealthy, c.restarts, c.lastRebuild,
		c.queueDepth, c.queueSize, c.inFlight, c.maxConcurrent, c.throttle,
		c.limInUse, c.limWaiting, c.limGranted, c.limRejected, c.limRPM, c.limTPM, c.limConcurrency, c.limPausedUntil,
		c.budSpent, c.budCap, c.budRemaining, c.budReserved, c.budRejected, c.budReset, c.budThrottled,
		c.brState, c.brTrips, c.brFailures} {
		ch <- d
	}
}

var breakerStates = [...]string{"closed", "open", "half_open"}

// Collect implements prometheus.Collector. A deployment whose name is not
// a known label is reported as "other" once; further unknown ones are
// skipped, since two series may not share labels.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.s.stateTimeout)
	defer cancel()
	states, err := c.s.backend.DeploymentStates(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	seen := make(map[string]bool, len(states))
	for _, st := range states {
		name := c.s.label(st.GetName())
		if seen[name] {
			continue
		}
		seen[name] = true
		c.collectOne(ch, name, st)
	}
}

func (c *stateCollector) collectOne(ch chan<- prometheus.Metric, name string, st *messages.DeploymentState) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{name}, labels...)...)
	}
	gauge(c.healthy, b2f(deploymentHealthy(st)))
	for _, r := range st.GetReplicas() {
		idx := strconv.Itoa(int(r.GetIndex()))
		gauge(c.replicaHealthy, b2f(r.GetHealthy()), idx)
		counter(c.restarts, float64(r.GetRestarts()), idx)
		if cause := r.GetLastRebuildCause(); cause != "" {
			gauge(c.lastRebuild, 1, idx, boundCause(cause))
		}
	}
	gauge(c.queueDepth, float64(st.GetQueueDepth()))
	gauge(c.queueSize, float64(st.GetQueueSize()))
	gauge(c.inFlight, float64(st.GetInFlight()))
	gauge(c.maxConcurrent, float64(st.GetMaxConcurrent()))
	if st.GetThrottleFactor() > 0 {
		gauge(c.throttle, st.GetThrottleFactor())
	}
	if l := st.GetLimiter(); l != nil {
		gauge(c.limInUse, float64(l.GetInUse()))
		gauge(c.limWaiting, float64(l.GetWaiting()))
		counter(c.limGranted, float64(l.GetGrantedTotal()))
		counter(c.limRejected, float64(l.GetRejectedTotal()))
		gauge(c.limRPM, l.GetRequestsPerMinute(), "configured")
		gauge(c.limRPM, l.GetEffectiveRpm(), "effective")
		gauge(c.limTPM, l.GetTokensPerMinute(), "configured")
		gauge(c.limTPM, l.GetEffectiveTpm(), "effective")
		gauge(c.limConcurrency, float64(l.GetConcurrentLimit()))
		gauge(c.limPausedUntil, unixSeconds(l.GetPausedUntilUnixNano()))
	}
	if b := st.GetBudget(); b != nil {
		for _, w := range [...]struct {
			window         string
			spent, capUSD  float64
			resetsAtUnixNs int64
		}{{"hour", b.GetSpentHourUsd(), b.GetCapHourUsd(), b.GetHourResetsAtUnixNano()},
			{"day", b.GetSpentDayUsd(), b.GetCapDayUsd(), b.GetDayResetsAtUnixNano()}} {
			gauge(c.budSpent, w.spent, w.window)
			if w.capUSD > 0 {
				gauge(c.budCap, w.capUSD, w.window)
				gauge(c.budRemaining, max(w.capUSD-w.spent, 0), w.window)
			}
			if w.resetsAtUnixNs > 0 {
				gauge(c.budReset, unixSeconds(w.resetsAtUnixNs), w.window)
			}
		}
		gauge(c.budReserved, b.GetReservedUsd())
		counter(c.budRejected, float64(b.GetRejectedTotal()))
		gauge(c.budThrottled, b2f(b.GetThrottled()))
	}
	if br := st.GetBreaker(); br != nil {
		for _, s := range breakerStates {
			gauge(c.brState, b2f(br.GetState() == s), s)
		}
		counter(c.brTrips, float64(br.GetTrips()))
		gauge(c.brFailures, float64(br.GetConsecutiveFailures()))
	}
}

// boundCause keeps the rebuild cause label to the known causes.
func boundCause(s string) string {
	for _, c := range runners.AllCauses {
		if c.String() == s {
			return s
		}
	}
	return "other"
}

// deploymentHealthy reports whether a deployment can serve: a healthy
// replica, or the deployment's own verdict when it lists no replicas.
func deploymentHealthy(st *messages.DeploymentState) bool {
	if len(st.GetReplicas()) == 0 {
		return st.GetHealthy()
	}
	for _, r := range st.GetReplicas() {
		if r.GetHealthy() {
			return true
		}
	}
	return false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(ns int64) float64 {
	if ns <= 0 {
		return 0
	}
	return float64(ns) / 1e9
}
