package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/cluster"
	"github.com/actorinfer/actorinfer/config"
)

// clusterNode is this server's cluster membership; a nil *clusterNode means
// one node without a cluster, and every method is a no-op on it.
type clusterNode struct {
	member *cluster.Member
	err    error // New failed; reported by start
	logger *slog.Logger
	keep   []string // deployments kept resolved for routers and fallbacks
}

// newClusterNode prepares membership of cfg's [cluster]; it returns nil
// when there is none. Nothing starts before start.
func newClusterNode(cfg *config.Config, system *actor.ActorSystem, logger *slog.Logger) *clusterNode {
	if cfg.Cluster == nil {
		return nil
	}
	m, err := cluster.New(system, cfg.Cluster, cluster.Options{Logger: logger.With("component", "cluster")})
	return &clusterNode{member: m, err: err, logger: logger, keep: lookedUp(cfg)}
}

// lookedUp lists the deployments that actors look up by name: router
// members and fallback targets. The cluster keeps them resolved.
func lookedUp(cfg *config.Config) []string {
	var out []string
	for _, r := range cfg.Routers {
		out = append(out, r.Members...)
		for _, t := range r.Tiers {
			out = append(out, t.Deployment)
		}
	}
	for _, d := range cfg.Deployments {
		out = append(out, d.Serving.Fallback...)
	}
	return out
}

// placement is the Host's placement: the cluster, or nil for one node.
func (n *clusterNode) placement() actors.Placement {
	if n == nil || n.member == nil {
		return nil
	}
	return n.member
}

// start joins the cluster with the deployments placed so far.
func (n *clusterNode) start() error {
	if n == nil {
		return nil
	}
	if n.err != nil {
		return n.err
	}
	if err := n.member.Start(); err != nil {
		return err
	}
	n.member.Keep(n.keep...)
	return nil
}

// leave drains this node's activations for up to timeout (0: 30 s) and
// leaves the cluster.
func (n *clusterNode) leave(timeout time.Duration) {
	if n == nil || n.member == nil {
		return
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n.logger.Info("leaving the cluster: draining this node's deployments")
	_ = n.member.Leave(ctx)
}
