package actors

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// RouterKind is a router's strategy.
type RouterKind int

// The router kinds. The zero value is not a kind: a RouterSpec must name one.
const (
	// RouterTiered sends a request to the tier it names and downgrades to
	// the next (cheaper) tier when the tier's cost estimate exceeds the
	// request's budget, when the tier's BudgetActor would reject it, or when
	// the tier fails with a FallbackOn error before its first chunk.
	RouterTiered RouterKind = iota + 1
	// RouterFallback tries its members in order, moving on when a member
	// fails with a FallbackOn error before its first chunk.
	RouterFallback
	// RouterCascade tries its members in order, buffering each candidate's
	// answer until it passes the Escalation checks; only the accepted
	// answer (or the last member's, unchecked) is streamed.
	RouterCascade
)

// String returns "tiered", "fallback" or "cascade".
func (k RouterKind) String() string {
	switch k {
	case RouterTiered:
		return "tiered"
	case RouterFallback:
		return "fallback"
	case RouterCascade:
		return "cascade"
	}
	return fmt.Sprintf("RouterKind(%d)", int(k))
}

// ParseRouterKind parses a kind written by String.
func ParseRouterKind(s string) (RouterKind, error) {
	for _, k := range []RouterKind{RouterTiered, RouterFallback, RouterCascade} {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("actors: router kind %q, want tiered, fallback or cascade", s)
}

// Tier is one tier of a tiered router.
type Tier struct {
	// Name is the tier's name, as in the model name "router/tier".
	Name string
	// Member backs the tier: a deployment or router name.
	Member string
	// MaxCostUSD is the per-request budget used when the request brings
	// none (ExecuteBatch.max_cost_usd = 0); 0 means no cap.
	MaxCostUSD float64
}

// Escalation says when a cascade moves from a candidate answer to the next
// member. A candidate that fails with a FallbackOn error before its first
// chunk, or with any error after it (a truncated answer), always escalates.
// The zero value escalates on FinishLength and Empty.
type Escalation struct {
	// FinishLength escalates an answer cut off by max_tokens
	// (finish_reason length). Outcome "escalated_finish_length".
	FinishLength bool
	// Empty escalates an answer with no text and no tool calls. Outcome
	// "escalated_empty".
	Empty bool
	// Refusals escalate an answer any of them matches. Outcome
	// "escalated_refusal".
	Refusals []*regexp.Regexp
	// MaxLength escalates an answer longer than this many bytes as soon as
	// it gets there (the candidate is cancelled); 0 means no limit. It also
	// bounds what a candidate buffers. Outcome "escalated_max_length".
	MaxLength int
	// Check, when set, is one more check: it returns a short reason slug
	// (outcome "escalated_"+slug; keep the set bounded, it is a metric
	// label) to escalate the answer, or "" to accept it. It runs on the
	// goroutine of the candidate's stream and must be safe for concurrent use.
	Check func(answer string, last *messages.TokenChunk) string
}

func (e Escalation) withDefaults() Escalation {
	if !e.FinishLength && !e.Empty && len(e.Refusals) == 0 && e.MaxLength == 0 && e.Check == nil {
		e.FinishLength, e.Empty = true, true
	}
	return e
}

// verdict returns the outcome slug of a complete candidate answer, or ""
// when it is accepted.
func (e *Escalation) verdict(answer string, tools bool, last *messages.TokenChunk) string {
	switch {
	case e.FinishLength && last.GetFinishReason() == messages.FinishReason_FINISH_REASON_LENGTH:
		return OutcomeEscalatedFinishLength
	case e.Empty && strings.TrimSpace(answer) == "" && !tools:
		return OutcomeEscalatedEmpty
	case e.MaxLength > 0 && len(answer) > e.MaxLength:
		return OutcomeEscalatedMaxLength
	}
	for _, re := range e.Refusals {
		if re.MatchString(answer) {
			return OutcomeEscalatedRefusal
		}
	}
	if e.Check != nil {
		if r := e.Check(answer, last); r != "" {
			return "escalated_" + r
		}
	}
	return ""
}

// The outcome and reason slugs routers write into RouteStep.outcome and
// RouteInfo.reason (besides the error code slugs, such as "rate_limited").
const (
	OutcomeServed                = "served"
	OutcomeRequested             = "requested" // RouteInfo.reason: the first member serves
	OutcomeOverRequestBudget     = "over_request_budget"
	OutcomeCostUnknown           = "cost_unknown"
	OutcomeBudgetWouldReject     = "budget_would_reject"
	OutcomeNotFound              = "not_found"
	OutcomeEscalatedFinishLength = "escalated_finish_length"
	OutcomeEscalatedEmpty        = "escalated_empty"
	OutcomeEscalatedRefusal      = "escalated_refusal"
	OutcomeEscalatedMaxLength    = "escalated_max_length"
	OutcomeEscalatedTruncated    = "escalated_truncated"
)

// DefaultFallbackOn returns the codes a router moves on by default:
// rate_limited, circuit_open, backpressure, budget_exceeded, timeout,
// server_error and network. A fresh slice.
func DefaultFallbackOn() []runners.Code {
	return []runners.Code{runners.CodeRateLimited, runners.CodeCircuitOpen, runners.CodeBackpressure,
		runners.CodeBudgetExceeded, runners.CodeTimeout, runners.CodeServerError, runners.CodeNetwork}
}

// neverFallbackOn are codes another member would fail the same way (or
// that the caller asked for).
var neverFallbackOn = []runners.Code{runners.CodeContentFiltered, runners.CodeBadRequest, runners.CodeUnauthorized,
	runners.CodeForbidden, runners.CodeCancelled}

// RouterSpec describes one router: deployments (or routers) composed into
// one model name. The composition root builds it from the [[router]] config
// tables. A RouterSpec must not change once spawned.
type RouterSpec struct {
	// Name is callable as a model name, like a deployment's.
	Name string
	Kind RouterKind
	// Members are the deployments or routers a fallback or cascade router
	// tries, in order. Ignored by tiered routers (see Tiers).
	Members []string
	// Tiers are a tiered router's tiers, most capable (most expensive)
	// first: a request downgrades towards the end.
	Tiers []Tier
	// DefaultTier is the tier of a request that names none; "" means the
	// first tier.
	DefaultTier string
	// FallbackOn are the error codes, before the first chunk, that move a
	// request to the next member; nil means DefaultFallbackOn. Add
	// context_length_exceeded to fall back to a longer-context member. It
	// may not hold content_filtered, bad_request, unauthorized, forbidden
	// or cancelled.
	FallbackOn []runners.Code
	// Escalation are a cascade's checks.
	Escalation Escalation
}

// Validate refuses a spec without a name or members, a name with "/" or
// whitespace, an unknown kind, duplicate members or tiers, an unknown
// default tier, and FallbackOn codes a router never falls back on.
func (s *RouterSpec) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("actors: router %q: "+format, append([]any{s.Name}, args...)...))
	}
	if s.Name == "" || strings.ContainsAny(s.Name, "/ \t\r\n") {
		add("name must be non-empty, without '/' or whitespace")
	}
	switch s.Kind {
	case RouterTiered:
		if len(s.Tiers) == 0 {
			add("a tiered router needs at least one tier")
		}
		seen := map[string]bool{}
		for _, t := range s.Tiers {
			if t.Name == "" || strings.ContainsAny(t.Name, "/ \t\r\n") || t.Member == "" {
				add("tier %q needs a name without '/' or whitespace and a member", t.Name)
			}
			if seen[t.Name] {
				add("tier %q defined twice", t.Name)
			}
			if !(t.MaxCostUSD >= 0) {
				add("tier %q max cost %v, want >= 0", t.Name, t.MaxCostUSD)
			}
			seen[t.Name] = true
		}
		if s.DefaultTier != "" && !seen[s.DefaultTier] {
			add("default tier %q is not a tier", s.DefaultTier)
		}
	case RouterFallback, RouterCascade:
		if len(s.Members) == 0 {
			add("needs at least one member")
		}
		for i, m := range s.Members {
			if m == "" || m == s.Name {
				add("member %q is empty or the router itself", m)
			}
			if slices.Contains(s.Members[:i], m) {
				add("member %q listed twice", m)
			}
		}
	default:
		add("unknown kind %v", s.Kind)
	}
	for _, c := range s.FallbackOn {
		if slices.Contains(neverFallbackOn, c) || c == messages.ErrorCode_ERROR_CODE_UNSPECIFIED {
			add("never falls back on %s", c.Slug())
		}
	}
	if s.Escalation.MaxLength < 0 {
		add("escalation max length %d, want >= 0", s.Escalation.MaxLength)
	}
	return errors.Join(errs...)
}

// members returns the member names of any kind, in order.
func (s *RouterSpec) members() []string {
	if s.Kind != RouterTiered {
		return s.Members
	}
	out := make([]string, len(s.Tiers))
	for i, t := range s.Tiers {
		out[i] = t.Member
	}
	return out
}

// RouterProps returns the props of a router actor for spec, on this host's
// directory, clock, observer and dispatcher. SpawnRouter uses it; so can a
// caller that spawns the router elsewhere (it must then register it in
// Directory itself).
func (h *Host) RouterProps(spec *RouterSpec) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newRouterActor(spec, h.env) },
		actor.WithDispatcher(h.env.dispatcher))
}

// SpawnRouter validates spec, starts its router and registers it in the
// Directory under spec.Name (and, for a tiered router, under
// "name/tier" for each tier), so Execute with that model name and
// deployments' fallback lists reach it. Members are looked up per request,
// so they may be spawned after the router. Not safe for concurrent use with
// Spawn or SpawnRouter.
func (h *Host) SpawnRouter(spec *RouterSpec) (*actor.PID, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if h.env.directory.Lookup(spec.Name) != nil {
		return nil, fmt.Errorf("actors: router %q: the name is already taken", spec.Name)
	}
	pid, err := h.system.Root.SpawnNamed(h.RouterProps(spec), "router/"+spec.Name)
	if err != nil {
		return nil, fmt.Errorf("actors: spawn router %q: %w", spec.Name, err)
	}
	h.env.directory.Register(spec.Name, pid)
	for _, t := range spec.Tiers {
		if spec.Kind == RouterTiered && h.env.directory.Lookup(spec.Name+"/"+t.Name) == nil {
			h.env.directory.Register(spec.Name+"/"+t.Name, pid)
		}
	}
	h.routers = append(h.routers, spec)
	return pid, nil
}

// Routers lists the spawned routers' names in spawn order.
func (h *Host) Routers() []string {
	out := make([]string, len(h.routers))
	for i, r := range h.routers {
		out[i] = r.Name
	}
	return out
}

// RouterSpec returns the spec of the spawned router name, or nil.
func (h *Host) RouterSpec(name string) *RouterSpec {
	for _, r := range h.routers {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// stopRouters stops the routers, last spawned first.
func (h *Host) stopRouters() {
	for i := len(h.routers) - 1; i >= 0; i-- {
		if pid := h.env.directory.Lookup(h.routers[i].Name); pid != nil {
			_ = h.system.Root.StopFuture(pid).Wait()
		}
	}
}
