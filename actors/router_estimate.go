package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
)

// budgetCheckTimeout bounds a deployment's wait for its BudgetActor's
// verdict; past it the estimate goes out without one.
const budgetCheckTimeout = 2 * time.Second

// onEstimate answers EstimateCost for routers: the runner's worst-case
// estimate and, with check_budget, whether the BudgetActor would admit a
// reservation of that amount now. The budget round trip reenters the
// mailbox instead of blocking it.
func (d *deploymentActor) onEstimate(ctx actor.Context, m *messages.EstimateCost) {
	to := replyTarget(m.GetReplyTo(), ctx.Sender())
	if to == nil {
		return
	}
	usd := d.estimate(m.GetBatch())
	est := &messages.CostEstimate{RequestId: m.GetBatch().GetRequestId(), Deployment: d.spec.Name, Usd: usd}
	if usd < 0 {
		est.Usd, est.Unknown = 0, true
	}
	if !m.GetCheckBudget() || d.budget == nil || usd == 0 {
		ctx.Send(to, est)
		return
	}
	f := ctx.RequestFuture(d.budget, &messages.BudgetCheck{RequestId: est.GetRequestId(), AmountUsd: usd}, budgetCheckTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if v, ok := res.(*messages.BudgetVerdict); ok && err == nil {
			est.BudgetError = v.GetError()
		}
		ctx.Send(to, est)
	})
}
