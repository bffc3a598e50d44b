package gateway

import (
	"context"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Backend is what the gateway needs from the actor system. The composition
// root implements it over the actors. Every method may be called from any
// goroutine, concurrently.
type Backend interface {
	// Models lists the callable model names (deployments and routers).
	Models() []ModelInfo

	// Execute starts batch on the deployment or router named batch.Model and
	// returns its stream. Errors (from Execute or from the handle's Recv)
	// are *messages.Error; an unknown model is an error with code NOT_FOUND
	// and neither Provider nor HttpStatus set. Before the handle yields its
	// first chunk the backend may fail over; a Recv error after a chunk is
	// an in-band failure. The first and the last chunk carry
	// TokenChunk.Deployment (who served it). Cancelling ctx (client gone)
	// cancels the request down to the runner; the gateway always Closes
	// the handle.
	Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error)

	// DeploymentStates returns the state of every deployment.
	DeploymentStates(ctx context.Context) ([]*messages.DeploymentState, error)
	// DeploymentState returns one deployment's state; an unknown name is a
	// *messages.Error with code NOT_FOUND.
	DeploymentState(ctx context.Context, name string) (*messages.DeploymentState, error)
	// Rebuild rebuilds every replica session of the deployment (cause Manual).
	Rebuild(ctx context.Context, name string) error
	// ForceOpen opens the deployment's circuit breaker for d.
	ForceOpen(ctx context.Context, name string, d time.Duration) error
}

// ModelInfo describes one callable model name.
type ModelInfo struct {
	// ID is the name clients send as "model".
	ID string
	// OwnedBy is shown as owned_by in /v1/models (the provider or "actorinfer").
	OwnedBy string
	// Kind is "deployment" or "router".
	Kind string
	// Created is the Unix time in seconds shown as created in /v1/models.
	Created int64
}
