package config

// RouterKind names a router's strategy.
type RouterKind string

// The router kinds.
const (
	// RouterTiered sends a request to the tier it names and downgrades to
	// the next cheaper tier when the cost estimate exceeds the request's
	// budget or the tier's budget would reject it.
	RouterTiered RouterKind = "tiered"
	// RouterFallback tries members in order on the errors in FallbackOn,
	// before the first token.
	RouterFallback RouterKind = "fallback"
	// RouterCascade tries the cheapest member first and escalates to the
	// next when an Escalation check fails; only the accepted answer streams.
	RouterCascade RouterKind = "cascade"
)

// Router is one [[router]] table: deployments composed into one model name.
// The routers themselves are built by the actors; the config only carries
// and validates their shape.
type Router struct {
	// Name is callable as a model name, like a deployment's. Required;
	// unique across deployments and routers; no "/" and no whitespace.
	Name string `toml:"name"`
	// Kind is "tiered", "fallback" or "cascade". Required.
	Kind RouterKind `toml:"kind"`
	// Members are deployment or router names. For fallback and cascade:
	// the order of attempts (at least 2). For tiered: shorthand for one
	// tier per member, named after it, most capable first; give either
	// members or [[router.tier]], not both (ApplyDefaults fills the other).
	Members []string `toml:"members"`

	// Tiers are the tiers of a tiered router, most capable first.
	Tiers []Tier `toml:"tier"`
	// DefaultTier is the tier of a request that names none. Default: the
	// first tier.
	DefaultTier string `toml:"default_tier"`

	// FallbackOn lists the error codes that move a fallback router to its
	// next member. Default: rate_limited, circuit_open, backpressure,
	// budget_exceeded, timeout, server_error, network. context_length_exceeded
	// may be added (for a chain to a longer-context model); content_filtered,
	// bad_request and the auth errors are refused.
	FallbackOn []string `toml:"fallback_on"`

	// Escalation is a cascade router's [router.escalation] table.
	Escalation Escalation `toml:"escalation"`

	// Which list ApplyDefaults derived from the other, so that problems are
	// reported at the key the user wrote.
	tiersDerived, membersDerived bool
}

// Tier is one [[router.tier]] table.
type Tier struct {
	// Name is the tier's name, as in "router/tier". Required, unique in the router.
	Name string `toml:"name"`
	// Deployment backs the tier: a deployment or router name. Required.
	Deployment string `toml:"deployment"`
	// MaxCostPerRequest is the per-request budget in USD used when the
	// request brings none; the router downgrades when the estimate exceeds
	// it. Zero: no per-request cap.
	MaxCostPerRequest float64 `toml:"max_cost_per_request"`
}

// The escalation checks of a cascade router.
const (
	// EscalateFinishLength escalates an answer cut off by max_tokens.
	EscalateFinishLength = "finish_length"
	// EscalateEmpty escalates an empty answer.
	EscalateEmpty = "empty"
	// EscalateRefusal escalates an answer matching a refusal pattern.
	EscalateRefusal = "refusal"
)

// Escalation is [router.escalation]: when a cascade moves to its next member.
type Escalation struct {
	// On lists the checks: "finish_length", "empty", "refusal". Default:
	// finish_length and empty, plus refusal when RefusalPatterns is set.
	On []string `toml:"on"`
	// RefusalPatterns are Go regular expressions matched against the
	// answer; "refusal" in On requires at least one.
	RefusalPatterns []string `toml:"refusal_patterns"`
}

// DefaultFallbackOn returns the default Router.FallbackOn, a fresh slice.
func DefaultFallbackOn() []string {
	return []string{"rate_limited", "circuit_open", "backpressure", "budget_exceeded", "timeout", "server_error", "network"}
}
