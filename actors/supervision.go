package actors

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/runners"
)

// Decide is the deployment supervisor's decider: a *runners.SessionFault
// with a known cause restarts the replica (which then rebuilds its session);
// anything else escalates.
func Decide(reason any) actor.Directive {
	err, _ := reason.(error)
	var sf *runners.SessionFault
	if errors.As(err, &sf) {
		switch sf.Cause {
		case runners.CudaContextPoisoned, runners.RemoteAuthFailure, runners.RemoteConfigChange, runners.Manual:
			return actor.RestartDirective
		}
	}
	return actor.EscalateDirective
}

// supervisorFor returns the strategy for a deployment's children: restart
// on session faults, and stop a replica restarted more than max times within
// window (the deployment then reports it unhealthy).
func supervisorFor(max int, window time.Duration) actor.SupervisorStrategy {
	if max <= 0 {
		max = 5
	}
	if window <= 0 {
		window = time.Minute
	}
	return actor.NewOneForOneStrategy(max, window, Decide)
}
