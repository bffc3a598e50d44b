package actors

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// routeLog records the router events of an Observer.
type routeLog struct {
	NopObserver
	mu       sync.Mutex
	routed   []string // "router member reason"
	rerouted []string // "router from->to reason"
}

func (o *routeLog) Routed(router, member, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.routed = append(o.routed, router+" "+member+" "+reason)
}

func (o *routeLog) Rerouted(router, from, to, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rerouted = append(o.rerouted, router+" "+from+"->"+to+" "+reason)
}

func (o *routeLog) get() (routed, rerouted []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.routed), slices.Clone(o.rerouted)
}

// routerHost spawns the deployments, then the routers, on a host with a
// fake clock (stopped at noon) whose observer is returned.
func routerHost(t testing.TB, deps []*DeploymentSpec, routers ...*RouterSpec) (*Host, *routeLog) {
	t.Helper()
	obs := &routeLog{}
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	// protoactor's default dispatcher, not the host's pool: a stream pump
	// may still send its outcome after the caller has the last chunk, and
	// the pool panics on a send after Host.Close (see PoolDispatcher.Stop).
	h := NewHost(quietSystem(t), HostOptions{Observer: obs, Clock: clk, Dispatcher: actor.NewDefaultDispatcher(300)})
	t.Cleanup(h.Close)
	for _, s := range deps {
		if _, err := h.Spawn(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range routers {
		if _, err := h.SpawnRouter(r); err != nil {
			t.Fatal(err)
		}
	}
	return h, obs
}

// reply makes a fake answer with text.
func reply(text string) fake.Option {
	return fake.WithReply(func(*messages.ExecuteBatch) string { return text })
}

// strictSpec is fakeSpec without idempotent retries, so every injected
// error surfaces as is.
func strictSpec(name string, r *fake.Runner) *DeploymentSpec {
	s := fakeSpec(name, r)
	s.Idempotent = false
	return s
}

// routeOf returns the first chunk's route of router.
func routeOf(t testing.TB, r result) *messages.RouteInfo {
	t.Helper()
	if len(r.chunks) == 0 || len(r.chunks[0].GetRoutes()) == 0 {
		t.Fatalf("no route on the first chunk (result %+v)", r)
	}
	return r.chunks[0].GetRoutes()[0]
}

func steps(ri *messages.RouteInfo) string {
	var out []string
	for _, s := range ri.GetSteps() {
		out = append(out, s.GetMember()+":"+s.GetOutcome())
	}
	return strings.Join(out, " ")
}

func TestRouterSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec RouterSpec
		ok   bool
	}{
		{"fallback", RouterSpec{Name: "r", Kind: RouterFallback, Members: []string{"a", "b"}}, true},
		{"tiered", RouterSpec{Name: "r", Kind: RouterTiered, Tiers: []Tier{{Name: "p", Member: "a"}, {Name: "c", Member: "b"}}, DefaultTier: "c"}, true},
		{"no name", RouterSpec{Kind: RouterFallback, Members: []string{"a"}}, false},
		{"slash", RouterSpec{Name: "r/x", Kind: RouterFallback, Members: []string{"a"}}, false},
		{"no kind", RouterSpec{Name: "r", Members: []string{"a"}}, false},
		{"no members", RouterSpec{Name: "r", Kind: RouterCascade}, false},
		{"self", RouterSpec{Name: "r", Kind: RouterCascade, Members: []string{"r"}}, false},
		{"dup member", RouterSpec{Name: "r", Kind: RouterCascade, Members: []string{"a", "a"}}, false},
		{"dup tier", RouterSpec{Name: "r", Kind: RouterTiered, Tiers: []Tier{{Name: "p", Member: "a"}, {Name: "p", Member: "b"}}}, false},
		{"bad default", RouterSpec{Name: "r", Kind: RouterTiered, Tiers: []Tier{{Name: "p", Member: "a"}}, DefaultTier: "x"}, false},
		{"negative cap", RouterSpec{Name: "r", Kind: RouterTiered, Tiers: []Tier{{Name: "p", Member: "a", MaxCostUSD: -1}}}, false},
		{"bad fallback code", RouterSpec{Name: "r", Kind: RouterFallback, Members: []string{"a"}, FallbackOn: []runners.Code{runners.CodeBadRequest}}, false},
		{"context length opt-in", RouterSpec{Name: "r", Kind: RouterFallback, Members: []string{"a"}, FallbackOn: []runners.Code{runners.CodeContextLengthExceeded}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if k, err := ParseRouterKind("cascade"); err != nil || k != RouterCascade || k.String() != "cascade" {
		t.Fatalf("ParseRouterKind(cascade) = %v, %v", k, err)
	}
	if _, err := ParseRouterKind("random"); err == nil {
		t.Fatal("ParseRouterKind(random) = nil error, want one")
	}
}

// TestFallbackPerCode injects every error code into the first member before
// its first chunk: the chain moves on exactly for the default FallbackOn
// codes.
func TestFallbackPerCode(t *testing.T) {
	falls := map[runners.Code]bool{}
	for _, c := range DefaultFallbackOn() {
		falls[c] = true
	}
	for v := range messages.ErrorCode_name {
		code := messages.ErrorCode(v)
		if code == messages.ErrorCode_ERROR_CODE_UNSPECIFIED {
			continue
		}
		t.Run(code.Slug(), func(t *testing.T) {
			a, b := fake.New(), fake.New(reply("from b"))
			a.FailNth(1, &messages.Error{Code: code, Message: "injected", RetryAfterMs: 1000})
			h, obs := routerHost(t, []*DeploymentSpec{strictSpec("a", a), strictSpec("b", b)},
				&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b"}})
			r := run(t, h, batch("chain", "hello there"))
			if !falls[code] {
				if r.err.GetCode() != code {
					t.Fatalf("error = %v, want %s from a", r.err, code.Slug())
				}
				if b.Executes() != 0 {
					t.Fatalf("b.Executes() = %d, want 0: %s never falls back", b.Executes(), code.Slug())
				}
				if routed, _ := obs.get(); !slices.Equal(routed, []string{"chain  " + code.Slug()}) {
					t.Fatalf("Routed = %q, want one failure", routed)
				}
				return
			}
			if r.err != nil || r.text != "from b" {
				t.Fatalf("result = %q, %v; want b's answer", r.text, r.err)
			}
			ri := routeOf(t, r)
			if ri.GetMember() != "b" || ri.GetReason() != code.Slug() || steps(ri) != "a:"+code.Slug()+" b:served" {
				t.Fatalf("route = %v, want b for %s", ri, code.Slug())
			}
			if r.chunks[0].GetDeployment() != "b" {
				t.Fatalf("deployment = %q, want b", r.chunks[0].GetDeployment())
			}
			routed, rerouted := obs.get()
			if !slices.Equal(routed, []string{"chain b " + code.Slug()}) || !slices.Equal(rerouted, []string{"chain a->b " + code.Slug()}) {
				t.Fatalf("Routed = %q, Rerouted = %q", routed, rerouted)
			}
		})
	}
}

func TestFallbackContextLengthOptIn(t *testing.T) {
	for _, optIn := range []bool{false, true} {
		t.Run(fmt.Sprint("opt-in=", optIn), func(t *testing.T) {
			short, long := fake.New(), fake.New(reply("long context answer"))
			short.FailNth(1, &messages.Error{Code: runners.CodeContextLengthExceeded, Message: "too long"})
			spec := &RouterSpec{Name: "ctx", Kind: RouterFallback, Members: []string{"short", "long"}}
			if optIn {
				spec.FallbackOn = append(DefaultFallbackOn(), runners.CodeContextLengthExceeded)
			}
			h, _ := routerHost(t, []*DeploymentSpec{strictSpec("short", short), strictSpec("long", long)}, spec)
			r := run(t, h, batch("ctx", "a very long prompt"))
			if optIn {
				if r.err != nil || r.text != "long context answer" {
					t.Fatalf("opt-in result = %q, %v; want the long member's answer", r.text, r.err)
				}
				return
			}
			if r.err.GetCode() != runners.CodeContextLengthExceeded || long.Executes() != 0 {
				t.Fatalf("result err = %v, long executes %d; want context_length_exceeded and no fallback", r.err, long.Executes())
			}
		})
	}
}

// TestFallbackNotAfterFirstToken: once a chunk reached the caller, the
// in-band error ends the stream and no other member is tried.
func TestFallbackNotAfterFirstToken(t *testing.T) {
	a, b := fake.New(reply("one two three four five six")), fake.New()
	a.CutAfter(2)
	h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", a), strictSpec("b", b)},
		&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b"}})
	r := run(t, h, batch("chain", "hi"))
	if len(r.chunks) != 2 || r.err == nil || !r.err.GetAfterFirstChunk() || r.err.GetCode() != runners.CodeNetwork {
		t.Fatalf("result = %d chunks, err %v; want 2 chunks then an in-band network error", len(r.chunks), r.err)
	}
	if b.Executes() != 0 {
		t.Fatalf("b.Executes() = %d, want 0 after the first token", b.Executes())
	}
	if ri := routeOf(t, r); ri.GetMember() != "a" || ri.GetReason() != OutcomeRequested {
		t.Fatalf("route = %v, want a, requested", ri)
	}
}

// TestFallbackAllCooling: every member cooling down gives one error with the
// earliest Retry-After; one member failing otherwise gives its error.
func TestFallbackAllCooling(t *testing.T) {
	t.Run("rate limited and circuit open", func(t *testing.T) {
		a, b, c := fake.New(), fake.New(), fake.New()
		a.RateLimitNext(1, 30*time.Second)
		b.RateLimitNext(1, 7*time.Second)
		h, obs := routerHost(t, []*DeploymentSpec{strictSpec("a", a), strictSpec("b", b), strictSpec("c", c)},
			&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b", "c"}})
		if _, err := h.ForceOpen(context.Background(), "c", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		r := run(t, h, batch("chain", "hi"))
		if r.err.GetCode() != runners.CodeRateLimited || r.err.RetryAfter() != 7*time.Second || r.err.GetDeployment() != "chain" {
			t.Fatalf("error = %v (retry after %v), want rate_limited from chain with the earliest retry after 7s", r.err, r.err.RetryAfter())
		}
		for _, m := range []string{"a rate_limited", "b rate_limited", "c circuit_open"} {
			if !strings.Contains(r.err.GetMessage(), m) {
				t.Fatalf("message %q does not mention %q", r.err.GetMessage(), m)
			}
		}
		if _, rerouted := obs.get(); len(rerouted) != 2 {
			t.Fatalf("Rerouted = %q, want 2 moves", rerouted)
		}
	})
	t.Run("all circuit open", func(t *testing.T) {
		h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", fake.New()), strictSpec("b", fake.New())},
			&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b"}})
		for name, d := range map[string]time.Duration{"a": time.Hour, "b": time.Minute} {
			if _, err := h.ForceOpen(context.Background(), name, d); err != nil {
				t.Fatal(err)
			}
		}
		r := run(t, h, batch("chain", "hi"))
		if r.err.GetCode() != runners.CodeCircuitOpen || r.err.RetryAfter() != time.Minute || r.err.GetScope() != "router" {
			t.Fatalf("error = %v, want circuit_open retrying after about 1m", r.err)
		}
	})
	t.Run("not all cooling", func(t *testing.T) {
		a, b := fake.New(), fake.New()
		a.RateLimitNext(1, 30*time.Second)
		b.FailNth(1, &messages.Error{Code: runners.CodeServerError, HttpStatus: 502, Message: "bad gateway"})
		h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", a), strictSpec("b", b)},
			&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b"}})
		r := run(t, h, batch("chain", "hi"))
		if r.err.GetCode() != runners.CodeServerError || r.err.GetDeployment() != "b" || r.err.GetHttpStatus() != 502 {
			t.Fatalf("error = %v, want b's server_error", r.err)
		}
	})
}

// TestFallbackMemberRouterAndMissing: a member that does not exist is
// skipped; a member may be another router.
func TestFallbackMemberRouterAndMissing(t *testing.T) {
	a := fake.New(reply("inner answer"))
	h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", a)},
		&RouterSpec{Name: "inner", Kind: RouterFallback, Members: []string{"a"}},
		&RouterSpec{Name: "outer", Kind: RouterFallback, Members: []string{"ghost", "inner"}})
	r := run(t, h, batch("outer", "hi"))
	if r.err != nil || r.text != "inner answer" {
		t.Fatalf("result = %q, %v", r.text, r.err)
	}
	routes := r.chunks[0].GetRoutes()
	if len(routes) != 2 || routes[0].GetRouter() != "outer" || routes[1].GetRouter() != "inner" ||
		steps(routes[0]) != "ghost:not_found inner:served" {
		t.Fatalf("routes = %v, want outer then inner", routes)
	}
	if got := h.Routers(); !slices.Equal(got, []string{"inner", "outer"}) {
		t.Fatalf("Routers() = %v", got)
	}
}

// tieredDeps returns premium, standard and cheap deployments priced 100, 10
// and 0 USD per million tokens.
func tieredDeps() (deps []*DeploymentSpec, premium, standard, cheap *fake.Runner) {
	premium = fake.New(fake.WithPrice(100, 100), reply("premium answer"))
	standard = fake.New(fake.WithPrice(10, 10), reply("standard answer"))
	cheap = fake.New(reply("cheap answer"))
	return []*DeploymentSpec{strictSpec("big", premium), strictSpec("mid", standard), strictSpec("small", cheap)},
		premium, standard, cheap
}

func tieredSpec() *RouterSpec {
	return &RouterSpec{Name: "auto", Kind: RouterTiered, DefaultTier: "standard",
		Tiers: []Tier{{Name: "premium", Member: "big"}, {Name: "standard", Member: "mid"}, {Name: "cheap", Member: "small"}}}
}

// capped returns a batch for model with max_tokens 100 and a request
// budget: premium's estimate is about $0.0103, standard's $0.00103.
func capped(model string, usd float64) *messages.ExecuteBatch {
	b := batch(model, "one two three")
	b.Sampling = &messages.Sampling{MaxTokens: 100}
	b.MaxCostUsd = usd
	return b
}

func TestTieredRouting(t *testing.T) {
	for _, tc := range []struct {
		name       string
		batch      *messages.ExecuteBatch
		tweak      func(*RouterSpec)
		wantText   string
		wantTier   string
		wantReason string
		wantSteps  string
	}{
		{name: "tier in model name", batch: batch("auto/premium", "x"),
			wantText: "premium answer", wantTier: "premium", wantReason: "requested", wantSteps: "big:served"},
		{name: "tier field", batch: func() *messages.ExecuteBatch { b := batch("auto", "x"); b.Tier = "cheap"; return b }(),
			wantText: "cheap answer", wantTier: "cheap", wantReason: "requested", wantSteps: "small:served"},
		{name: "default tier", batch: batch("auto", "x"),
			wantText: "standard answer", wantTier: "standard", wantReason: "requested", wantSteps: "mid:served"},
		{name: "downgrade by request budget", batch: capped("auto/premium", 0.005),
			wantText: "standard answer", wantTier: "standard", wantReason: "over_request_budget", wantSteps: "big:over_request_budget mid:served"},
		{name: "downgrade twice", batch: capped("auto/premium", 0.0005),
			wantText: "cheap answer", wantTier: "cheap", wantReason: "over_request_budget",
			wantSteps: "big:over_request_budget mid:over_request_budget small:served"},
		{name: "within budget", batch: capped("auto/premium", 0.02),
			wantText: "premium answer", wantTier: "premium", wantReason: "requested", wantSteps: "big:served"},
		{name: "tier cap when the request has none", batch: capped("auto/premium", 0),
			tweak:    func(s *RouterSpec) { s.Tiers[0].MaxCostUSD = 0.001 },
			wantText: "standard answer", wantTier: "standard", wantReason: "over_request_budget", wantSteps: "big:over_request_budget mid:served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deps, _, _, _ := tieredDeps()
			spec := tieredSpec()
			if tc.tweak != nil {
				tc.tweak(spec)
			}
			h, obs := routerHost(t, deps, spec)
			r := run(t, h, tc.batch)
			if r.err != nil || r.text != tc.wantText {
				t.Fatalf("result = %q, %v; want %q", r.text, r.err, tc.wantText)
			}
			ri := routeOf(t, r)
			if ri.GetTier() != tc.wantTier || ri.GetReason() != tc.wantReason || steps(ri) != tc.wantSteps || ri.GetKind() != "tiered" {
				t.Fatalf("route = %v, want tier %s reason %s steps %q", ri, tc.wantTier, tc.wantReason, tc.wantSteps)
			}
			if routed, _ := obs.get(); len(routed) != 1 || routed[0] != "auto "+ri.GetMember()+" "+tc.wantReason {
				t.Fatalf("Routed = %q", routed)
			}
		})
	}
}

func TestTieredDowngradeByBudget(t *testing.T) {
	deps, premium, _, _ := tieredDeps()
	deps[0].Budget = BudgetConfig{MaxSpendPerHour: 0.001} // below premium's estimate
	h, obs := routerHost(t, deps, tieredSpec())
	r := run(t, h, capped("auto/premium", 0))
	if r.err != nil || r.text != "standard answer" {
		t.Fatalf("result = %q, %v; want the standard tier", r.text, r.err)
	}
	if ri := routeOf(t, r); ri.GetReason() != OutcomeBudgetWouldReject || steps(ri) != "big:budget_would_reject mid:served" {
		t.Fatalf("route = %v, want a budget downgrade", ri)
	}
	if premium.Executes() != 0 {
		t.Fatalf("premium.Executes() = %d, want 0 (checked before admission)", premium.Executes())
	}
	if _, rerouted := obs.get(); !slices.Equal(rerouted, []string{"auto big->mid budget_would_reject"}) {
		t.Fatalf("Rerouted = %q", rerouted)
	}
	// The check reserved nothing.
	if st := state(t, h, "big"); st.GetBudget().GetReservedUsd() != 0 || st.GetBudget().GetRejectedTotal() != 0 {
		t.Fatalf("premium budget after a check = %v, want nothing reserved or rejected", st.GetBudget())
	}
}

func TestTieredFailures(t *testing.T) {
	t.Run("no tier within the request budget", func(t *testing.T) {
		deps, _, _, _ := tieredDeps()
		spec := tieredSpec()
		spec.Tiers = spec.Tiers[:2]
		h, _ := routerHost(t, deps, spec)
		r := run(t, h, capped("auto/premium", 0.0001))
		if r.err.GetCode() != runners.CodeBudgetExceeded || r.err.GetScope() != "request" || r.err.GetDeployment() != "mid" {
			t.Fatalf("error = %v, want budget_exceeded scope request", r.err)
		}
	})
	t.Run("unknown cost with a budget", func(t *testing.T) {
		deps, _, _, _ := tieredDeps()
		deps[0].NewRunner = func(int) (runners.ModelRunner, error) { return fake.New(fake.WithUnknownPrice()), nil }
		h, _ := routerHost(t, deps, tieredSpec())
		r := run(t, h, capped("auto/premium", 1))
		if ri := routeOf(t, r); r.err != nil || ri.GetReason() != OutcomeCostUnknown || ri.GetMember() != "mid" {
			t.Fatalf("result %v, route = %v; want a cost_unknown downgrade", r.err, ri)
		}
	})
	t.Run("unknown tier", func(t *testing.T) {
		deps, _, _, _ := tieredDeps()
		h, _ := routerHost(t, deps, tieredSpec())
		b := batch("auto", "x")
		b.Tier = "platinum"
		if r := run(t, h, b); r.err.GetCode() != runners.CodeBadRequest {
			t.Fatalf("error = %v, want bad_request", r.err)
		}
	})
	t.Run("downgrade on rate limit", func(t *testing.T) {
		deps, premium, _, _ := tieredDeps()
		premium.RateLimitNext(1, time.Second)
		h, _ := routerHost(t, deps, tieredSpec())
		r := run(t, h, batch("auto/premium", "x"))
		if ri := routeOf(t, r); r.err != nil || ri.GetReason() != "rate_limited" || ri.GetMember() != "mid" {
			t.Fatalf("result %v, route = %v; want a rate_limited downgrade", r.err, ri)
		}
	})
	t.Run("no tiers on a fallback router", func(t *testing.T) {
		h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", fake.New())},
			&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a"}})
		b := batch("chain", "x")
		b.Tier = "premium"
		if r := run(t, h, b); r.err.GetCode() != runners.CodeBadRequest {
			t.Fatalf("error = %v, want bad_request", r.err)
		}
	})
}

// TestCascade drives each escalation check, and acceptance.
func TestCascade(t *testing.T) {
	for _, tc := range []struct {
		name      string
		local     []fake.Option
		inject    func(*fake.Runner)
		esc       Escalation
		maxTokens int32
		wantText  string
		wantSteps string
	}{
		{name: "accepted", local: []fake.Option{reply("positive")},
			wantText: "positive", wantSteps: "local:served"},
		{name: "refusal", local: []fake.Option{reply("I cannot help with that")},
			esc:      Escalation{Refusals: []*regexp.Regexp{regexp.MustCompile(`(?i)\bI cannot\b`)}},
			wantText: "remote answer", wantSteps: "local:escalated_refusal remote:served"},
		{name: "empty", local: []fake.Option{reply("")},
			wantText: "remote answer", wantSteps: "local:escalated_empty remote:served"},
		{name: "finish length", local: []fake.Option{reply("a b c d e f g h")}, maxTokens: 3,
			wantText: "remote answer", wantSteps: "local:escalated_finish_length remote:served"},
		{name: "max length", local: []fake.Option{reply(strings.Repeat("word ", 40))},
			esc:      Escalation{MaxLength: 20},
			wantText: "remote answer", wantSteps: "local:escalated_max_length remote:served"},
		{name: "truncated", local: []fake.Option{reply("a b c d e f")}, inject: func(f *fake.Runner) { f.CutAfter(2) },
			wantText: "remote answer", wantSteps: "local:escalated_truncated remote:served"},
		{name: "rate limited", inject: func(f *fake.Runner) { f.RateLimitNext(1, time.Second) },
			wantText: "remote answer", wantSteps: "local:rate_limited remote:served"},
		{name: "custom check", local: []fake.Option{reply("maybe")},
			esc: Escalation{Check: func(answer string, _ *messages.TokenChunk) string {
				if answer != "yes" && answer != "no" {
					return "not_a_label"
				}
				return ""
			}},
			wantText: "remote answer", wantSteps: "local:escalated_not_a_label remote:served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := fake.New(tc.local...)
			remote := fake.New(reply("remote answer"))
			if tc.inject != nil {
				tc.inject(local)
			}
			h, obs := routerHost(t, []*DeploymentSpec{strictSpec("local", local), strictSpec("remote", remote)},
				&RouterSpec{Name: "casc", Kind: RouterCascade, Members: []string{"local", "remote"}, Escalation: tc.esc})
			b := batch("casc", "classify this")
			if tc.maxTokens > 0 {
				b.Sampling = &messages.Sampling{MaxTokens: tc.maxTokens}
			}
			r := run(t, h, b)
			if r.err != nil || r.text != tc.wantText {
				t.Fatalf("result = %q, %v; want only %q", r.text, r.err, tc.wantText)
			}
			ri := routeOf(t, r)
			if steps(ri) != tc.wantSteps {
				t.Fatalf("steps = %q, want %q", steps(ri), tc.wantSteps)
			}
			escalated := ri.GetMember() == "remote"
			if escalated != (remote.Executes() == 1) {
				t.Fatalf("remote.Executes() = %d, member %s", remote.Executes(), ri.GetMember())
			}
			for i, c := range r.chunks {
				if c.GetDeployment() != "" && c.GetDeployment() != ri.GetMember() {
					t.Fatalf("chunk %d from %q, want only %q", i, c.GetDeployment(), ri.GetMember())
				}
			}
			routed, rerouted := obs.get()
			if len(routed) != 1 || (escalated && len(rerouted) != 1) {
				t.Fatalf("Routed = %q, Rerouted = %q", routed, rerouted)
			}
		})
	}
}

// TestCascadeLastMemberStreamsUnchecked: the last member's answer reaches
// the caller even when it would fail the checks.
func TestCascadeLastMemberStreamsUnchecked(t *testing.T) {
	local, remote := fake.New(reply("")), fake.New(reply(""))
	h, _ := routerHost(t, []*DeploymentSpec{strictSpec("local", local), strictSpec("remote", remote)},
		&RouterSpec{Name: "casc", Kind: RouterCascade, Members: []string{"local", "remote"}})
	r := run(t, h, batch("casc", "x"))
	if r.err != nil || r.last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		t.Fatalf("result = %+v, want remote's (empty) answer", r)
	}
	if ri := routeOf(t, r); ri.GetMember() != "remote" || ri.GetReason() != OutcomeEscalatedEmpty {
		t.Fatalf("route = %v", ri)
	}
}

// TestCascadeNoEscalationOnBadRequest: a non-fallback error from a
// candidate before any chunk is the caller's answer.
func TestCascadeNoEscalationOnBadRequest(t *testing.T) {
	local, remote := fake.New(), fake.New()
	local.FailNth(1, &messages.Error{Code: runners.CodeBadRequest, Message: "bad tools"})
	h, _ := routerHost(t, []*DeploymentSpec{strictSpec("local", local), strictSpec("remote", remote)},
		&RouterSpec{Name: "casc", Kind: RouterCascade, Members: []string{"local", "remote"}})
	if r := run(t, h, batch("casc", "x")); r.err.GetCode() != runners.CodeBadRequest || remote.Executes() != 0 {
		t.Fatalf("error = %v, remote executes %d; want bad_request and no escalation", r.err, remote.Executes())
	}
}

// TestRouterCancel: a Cancel sent to the router by message passing reaches
// the member running the request, whatever the router kind and stage.
func TestRouterCancel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       RouterKind
		stallAfter int
	}{
		{"fallback before first chunk", RouterFallback, 0},
		{"fallback after first chunk", RouterFallback, 2},
		{"cascade buffering", RouterCascade, 2},
		{"tiered", RouterTiered, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fake.New(reply("a b c d e f")), fake.New()
			a.StallAfter(tc.stallAfter)
			spec := &RouterSpec{Name: "r", Kind: tc.kind, Members: []string{"a", "b"}}
			if tc.kind == RouterTiered {
				spec.Members, spec.Tiers = nil, []Tier{{Name: "one", Member: "a"}, {Name: "two", Member: "b"}}
			}
			h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", a), strictSpec("b", b)}, spec)
			pid := h.Directory().Lookup("r")
			s := NewStream(context.Background(), h.System(), pid, "cancel-me")
			h.System().Root.Send(pid, &messages.Execute{Batch: &messages.ExecuteBatch{RequestId: "cancel-me", Model: "r", Stream: true,
				Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "x"}}}, ReplyTo: FromActorPID(s.PID())})
			if !a.WaitExecutes(1, time.After(10*time.Second)) {
				t.Fatal("member a never started")
			}
			var got []*messages.TokenChunk
			passThrough := tc.kind != RouterCascade
			for passThrough && len(got) < tc.stallAfter {
				c, err := s.Recv()
				if err != nil {
					t.Fatalf("Recv = %v before the stall", err)
				}
				got = append(got, c)
			}
			h.System().Root.Send(pid, &messages.Cancel{RequestId: "cancel-me"})
			r := drain(t, s)
			if r.err.GetCode() != runners.CodeCancelled {
				t.Fatalf("result = %+v, want cancelled", r)
			}
			if len(r.chunks) != 0 {
				t.Fatalf("got %d chunks after the cancel, want none", len(r.chunks))
			}
			if b.Executes() != 0 {
				t.Fatalf("b.Executes() = %d, want 0: a cancel never falls back", b.Executes())
			}
		})
	}
}

func TestRouterEstimateForwarding(t *testing.T) {
	deps, _, _, _ := tieredDeps()
	h, _ := routerHost(t, deps, tieredSpec(),
		&RouterSpec{Name: "outer", Kind: RouterTiered, Tiers: []Tier{{Name: "x", Member: "auto/premium"}, {Name: "y", Member: "small"}}})
	// The outer tier "x" is the inner router's premium tier: its estimate
	// comes from "big", so a tight request budget downgrades to "small".
	r := run(t, h, capped("outer/x", 0.001))
	if ri := routeOf(t, r); r.err != nil || r.text != "cheap answer" || ri.GetReason() != OutcomeOverRequestBudget {
		t.Fatalf("result = %q, %v, route %v", r.text, r.err, ri)
	}
	r = run(t, h, capped("outer/x", 1))
	if routes := r.chunks[0].GetRoutes(); r.text != "premium answer" || len(routes) != 2 || routes[1].GetTier() != "premium" {
		t.Fatalf("result = %q, routes %v", r.text, routes)
	}
}

// blackHole is a process that swallows every message: a member that never
// answers.
type blackHole struct{}

func (blackHole) SendUserMessage(*actor.PID, any)   {}
func (blackHole) SendSystemMessage(*actor.PID, any) {}
func (blackHole) Stop(*actor.PID)                   {}

// TestRouterCancelWhileEstimating: a cancel that arrives while a tiered
// router waits for a cost estimate ends the request at once.
func TestRouterCancelWhileEstimating(t *testing.T) {
	deps, _, _, _ := tieredDeps()
	h, _ := routerHost(t, deps, &RouterSpec{Name: "r", Kind: RouterTiered,
		Tiers: []Tier{{Name: "stuck", Member: "hole"}, {Name: "cheap", Member: "small"}}})
	hole, _ := h.System().ProcessRegistry.Add(blackHole{}, "hole")
	h.Directory().Register("hole", hole)
	pid := h.Directory().Lookup("r")
	s := NewStream(context.Background(), h.System(), pid, "est-1")
	h.System().Root.Send(pid, &messages.Execute{Batch: &messages.ExecuteBatch{RequestId: "est-1", Model: "r"}, ReplyTo: FromActorPID(s.PID())})
	h.System().Root.Send(pid, &messages.Cancel{RequestId: "est-1"})
	if r := drain(t, s); r.err.GetCode() != runners.CodeCancelled || r.err.GetDeployment() != "r" {
		t.Fatalf("result = %+v, want cancelled by the router", r)
	}
}

// TestRouterDuplicateAndBadExecute: a request id already in flight, and a
// batch without one, are refused.
func TestRouterDuplicateAndBadExecute(t *testing.T) {
	a := fake.New()
	a.Stall()
	h, _ := routerHost(t, []*DeploymentSpec{strictSpec("a", a)}, &RouterSpec{Name: "r", Kind: RouterFallback, Members: []string{"a"}})
	pid := h.Directory().Lookup("r")
	first := NewStream(context.Background(), h.System(), pid, "dup")
	defer first.Close()
	h.System().Root.Send(pid, &messages.Execute{Batch: &messages.ExecuteBatch{RequestId: "dup", Model: "r"}, ReplyTo: FromActorPID(first.PID())})
	second := NewStream(context.Background(), h.System(), nil, "dup")
	h.System().Root.Send(pid, &messages.Execute{Batch: &messages.ExecuteBatch{RequestId: "dup", Model: "r"}, ReplyTo: FromActorPID(second.PID())})
	if r := drain(t, second); r.err.GetCode() != runners.CodeBadRequest {
		t.Fatalf("duplicate = %+v, want bad_request", r)
	}
	third := NewStream(context.Background(), h.System(), nil, "")
	h.System().Root.Send(pid, &messages.Execute{Batch: &messages.ExecuteBatch{Model: "r"}, ReplyTo: FromActorPID(third.PID())})
	if r := drain(t, third); r.err.GetCode() != runners.CodeBadRequest {
		t.Fatalf("no request id = %+v, want bad_request", r)
	}
	a.Release()
}

// TestMemberBatchCopiesEveryField guards memberBatch against fields added
// to ExecuteBatch later: every populated field is carried, but the model
// and tier.
func TestMemberBatchCopiesEveryField(t *testing.T) {
	src := &messages.ExecuteBatch{RequestId: "id", Model: "auto/premium", Tier: "premium", Stream: true, EstimatedTokens: 7,
		Priority: 2, DeadlineUnixNano: 9, ToolsJson: []byte("[]"), ToolChoiceJson: []byte(`"auto"`),
		ResponseFormatJson: []byte("{}"), User: "u", MaxCostUsd: 0.5, Sampling: &messages.Sampling{MaxTokens: 3},
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "hi"}}}
	fields := src.ProtoReflect().Descriptor().Fields()
	set := 0
	src.ProtoReflect().Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool { set++; return true })
	if set != fields.Len() {
		t.Fatalf("test batch sets %d of %d fields: set the new ones", set, fields.Len())
	}
	got := memberBatch(src, "big")
	if got.GetModel() != "big" || got.GetTier() != "" {
		t.Fatalf("memberBatch model, tier = %q, %q; want big and none", got.GetModel(), got.GetTier())
	}
	got.Model, got.Tier = src.GetModel(), src.GetTier()
	if !proto.Equal(got, src) {
		t.Fatalf("memberBatch = %v, want a copy of %v", got, src)
	}
}

func TestBudgetCheck(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		cfg   BudgetConfig
		spend float64
		usd   float64
		want  string // error scope, "" for none
	}{
		{"free", BudgetConfig{MaxSpendPerHour: 1}, 0, 0, ""},
		{"within", BudgetConfig{MaxSpendPerHour: 1}, 0.5, 0.4, ""},
		{"over hour", BudgetConfig{MaxSpendPerHour: 1}, 0.5, 0.6, ScopeHour},
		{"over day", BudgetConfig{MaxSpendPerDay: 1}, 0.5, 0.6, ScopeDay},
		{"warn admits", BudgetConfig{MaxSpendPerHour: 1, OnExceeded: OnExceededWarn}, 0.5, 0.6, ""},
		{"throttle rejects", BudgetConfig{MaxSpendPerHour: 1, OnExceeded: OnExceededThrottle}, 0.5, 0.6, ScopeHour},
		{"unknown denied", BudgetConfig{MaxSpendPerHour: 1}, 0, -1, ScopePrice},
		{"unknown estimated", BudgetConfig{MaxSpendPerHour: 1, UnknownPrice: UnknownPriceEstimate, UnknownPriceUSD: 0.1}, 0, -1, ""},
		{"no caps", BudgetConfig{}, 0, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.cfg)
			if tc.spend > 0 {
				b.Settle(now, "spent", tc.spend)
			}
			err := b.Check(now, tc.usd)
			if err.GetScope() != tc.want || (tc.want != "" && err.GetCode() != runners.CodeBudgetExceeded) {
				t.Fatalf("Check(%v) = %v, want scope %q", tc.usd, err, tc.want)
			}
			if st := b.State(now); st.GetReservedUsd() != 0 || st.GetRejectedTotal() != 0 {
				t.Fatalf("state after Check = %v, want nothing reserved or rejected", st)
			}
		})
	}
}

func TestBudgetActorCheck(t *testing.T) {
	sys := quietSystem(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	pid := sys.Root.Spawn(NewBudgetProps(BudgetConfig{MaxSpendPerHour: 1}, clk, WithBudgetName("d")))
	for _, tc := range []struct {
		usd  float64
		want bool
	}{{0.5, true}, {2, false}} {
		res, err := sys.Root.RequestFuture(pid, &messages.BudgetCheck{RequestId: "c", AmountUsd: tc.usd}, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		v, _ := res.(*messages.BudgetVerdict)
		if ok := v.GetError() == nil; ok != tc.want || v.GetRequestId() != "c" || v.GetAmountUsd() != tc.usd {
			t.Fatalf("BudgetCheck(%v) = %v, want admitted %v", tc.usd, v, tc.want)
		}
		if !tc.want && (v.GetError().GetDeployment() != "d" || v.GetError().GetRetryAfterMs() != 30*60*1000) {
			t.Fatalf("verdict error = %v, want deployment d and a retry at the hour", v.GetError())
		}
	}
}

// BenchmarkRouterRequest measures one request through a router in front of
// a bare deployment (compare BenchmarkDeploymentRequest/bare): the router
// adds one hop (caller→router) and a reply process per attempt; chunks do
// not cross its mailbox. The tiered case adds the estimate round trip.
func BenchmarkRouterRequest(b *testing.B) {
	for _, kind := range []RouterKind{RouterFallback, RouterCascade, RouterTiered} {
		b.Run(kind.String(), func(b *testing.B) {
			spec := &RouterSpec{Name: "r", Kind: kind, Members: []string{"a", "b"}}
			if kind == RouterTiered {
				spec.Members, spec.Tiers = nil, []Tier{{Name: "one", Member: "a"}, {Name: "two", Member: "b"}}
			}
			h := testHost(b, fakeSpec("a", fake.New(fake.WithPrice(1, 1))), fakeSpec("b", fake.New()))
			if _, err := h.SpawnRouter(spec); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					s, err := h.Execute(ctx, batch("r", fmt.Sprint("hello world ", i)))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := runners.ReadAll(s); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// TestDeploymentFallsBackToRouter: a router in a deployment's fallback list
// takes the request under the deployment's model name and skips the
// members already tried.
func TestDeploymentFallsBackToRouter(t *testing.T) {
	a, b, c := fake.New(), fake.New(reply("from b")), fake.New(reply("from c"))
	a.RateLimitNext(1, time.Second)
	b.RateLimitNext(1, time.Second)
	sa := strictSpec("a", a)
	sa.Fallback = []string{"chain"}
	h, _ := routerHost(t, []*DeploymentSpec{sa, strictSpec("b", b), strictSpec("c", c)},
		&RouterSpec{Name: "chain", Kind: RouterFallback, Members: []string{"a", "b", "c"}})
	r := run(t, h, batch("a", "hi"))
	if r.err != nil || r.text != "from c" {
		t.Fatalf("result = %q, %v; want c's answer", r.text, r.err)
	}
	if ri := routeOf(t, r); steps(ri) != "b:rate_limited c:served" || a.Executes() != 1 {
		t.Fatalf("route = %v, a executes %d; want a skipped (already tried)", ri, a.Executes())
	}
}

// TestDeploymentEstimateCost: a deployment answers EstimateCost with its
// runner's estimate and, when asked, its budget's verdict.
func TestDeploymentEstimateCost(t *testing.T) {
	priced := strictSpec("priced", fake.New(fake.WithPrice(1000, 1000)))
	priced.Budget = BudgetConfig{MaxSpendPerHour: 0.05}
	h, _ := routerHost(t, []*DeploymentSpec{priced, strictSpec("free", fake.New()),
		strictSpec("unknown", fake.New(fake.WithUnknownPrice()))})
	for _, tc := range []struct {
		name, dep   string
		maxTokens   int32
		check       bool
		wantUSD     float64
		wantUnknown bool
		wantDenied  bool
	}{
		{"free", "free", 10, true, 0, false, false},
		{"unknown", "unknown", 10, true, 0, true, false},
		{"priced within budget", "priced", 10, true, 0.012, false, false},
		{"priced over budget", "priced", 100, true, 0.102, false, true},
		{"priced over budget, not checked", "priced", 100, false, 0.102, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := batch(tc.dep, "one two")
			b.RequestId, b.Sampling = "est", &messages.Sampling{MaxTokens: tc.maxTokens}
			res, err := h.System().Root.RequestFuture(h.Directory().Lookup(tc.dep),
				&messages.EstimateCost{Batch: b, CheckBudget: tc.check}, 5*time.Second).Result()
			if err != nil {
				t.Fatal(err)
			}
			e, _ := res.(*messages.CostEstimate)
			if e.GetRequestId() != "est" || e.GetDeployment() != tc.dep || e.GetUnknown() != tc.wantUnknown ||
				(e.GetBudgetError() != nil) != tc.wantDenied || e.GetUsd() < tc.wantUSD*0.999 || e.GetUsd() > tc.wantUSD*1.001 {
				t.Fatalf("EstimateCost = %v, want usd %v unknown %v denied %v", e, tc.wantUSD, tc.wantUnknown, tc.wantDenied)
			}
		})
	}
}
