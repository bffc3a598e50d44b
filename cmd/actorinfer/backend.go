package main

import (
	"context"
	"time"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/gateway"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// backend adapts the actor host to the gateway's Backend interface.
type backend struct {
	host    *actors.Host
	cfg     *config.Config
	created int64
}

var _ gateway.Backend = (*backend)(nil)

func (b *backend) Models() []gateway.ModelInfo {
	if b.created == 0 {
		b.created = time.Now().Unix()
	}
	out := make([]gateway.ModelInfo, 0, len(b.cfg.Deployments))
	for _, d := range b.cfg.Deployments {
		owner := string(d.Runtime)
		if d.Runtime == runners.RuntimeLocal || d.Runtime == runners.RuntimeFake || d.Runtime == runners.RuntimeCUDA {
			owner = "actorinfer"
		}
		out = append(out, gateway.ModelInfo{ID: d.Name, OwnedBy: owner, Kind: "deployment", Created: b.created})
	}
	for _, r := range b.cfg.Routers {
		out = append(out, gateway.ModelInfo{ID: r.Name, OwnedBy: "actorinfer", Kind: "router", Created: b.created})
		for _, t := range r.Tiers {
			out = append(out, gateway.ModelInfo{ID: r.Name + "/" + t.Name, OwnedBy: "actorinfer", Kind: "router", Created: b.created})
		}
	}
	return out
}

func (b *backend) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	return b.host.Execute(ctx, batch)
}

func (b *backend) DeploymentStates(ctx context.Context) ([]*messages.DeploymentState, error) {
	return b.host.States(ctx)
}

func (b *backend) DeploymentState(ctx context.Context, name string) (*messages.DeploymentState, error) {
	return b.host.State(ctx, name)
}

func (b *backend) Rebuild(ctx context.Context, name string) error {
	_, err := b.host.Rebuild(ctx, name, runners.Manual)
	return err
}

func (b *backend) ForceOpen(ctx context.Context, name string, d time.Duration) error {
	_, err := b.host.ForceOpen(ctx, name, d)
	return err
}
