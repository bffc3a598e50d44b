package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// observer turns actor events into Prometheus metrics the gateway cannot
// see: restarts by cause, session-fault retries and fallbacks. Labels are
// deployment names from the config and fixed enums only.
type observer struct {
	actors.NopObserver
	restarts  *prometheus.CounterVec
	retries   *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	routed    *prometheus.CounterVec
	rerouted  *prometheus.CounterVec
}

func newObserver(reg prometheus.Registerer) *observer {
	o := &observer{
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_runner_restarts_total",
			Help: "Runner actor restarts (session rebuilds) by deployment and cause.",
		}, []string{"deployment", "cause"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_session_fault_retries_total",
			Help: "Requests retried on a rebuilt session after a session fault.",
		}, []string{"deployment", "cause"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "actorinfer_fallbacks_total",
			Help: "Requests handed from one deployment to its fallback.",
		}, []string{"from", "to"}),
	}
	o.routed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "actorinfer_router_decisions_total",
		Help: "Requests a router sent to a member, by router, member and reason.",
	}, []string{"router", "member", "reason"})
	o.rerouted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "actorinfer_router_reroutes_total",
		Help: "Router moves from one member to the next (downgrade, fallback, escalation), by reason.",
	}, []string{"router", "from", "to", "reason"})
	reg.MustRegister(o.restarts, o.retries, o.fallbacks, o.routed, o.rerouted)
	return o
}

func (o *observer) ReplicaRestarted(deployment string, cause runners.SessionRebuildCause) {
	o.restarts.WithLabelValues(deployment, cause.String()).Inc()
}

func (o *observer) Retried(deployment string, cause runners.SessionRebuildCause) {
	o.retries.WithLabelValues(deployment, cause.String()).Inc()
}

func (o *observer) Fallback(from, to string) { o.fallbacks.WithLabelValues(from, to).Inc() }

func (o *observer) Routed(router, member, reason string) {
	o.routed.WithLabelValues(router, member, reason).Inc()
}

func (o *observer) Rerouted(router, from, to, reason string) {
	o.rerouted.WithLabelValues(router, from, to, reason).Inc()
}

func (o *observer) RequestDone(string, *messages.Usage, float64, time.Duration) {}
