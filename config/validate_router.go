package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// fallbackCodes are the codes a fallback router may fall back on.
var fallbackCodes = append(DefaultFallbackOn(), "context_length_exceeded")

// neverFallback are codes that a different deployment would fail the same way.
var neverFallback = []string{"content_filtered", "bad_request", "unauthorized", "forbidden", "cancelled"}

func (v *validator) router(i int, r *Router) {
	at := func(key string) string { return routerPath(i, r.Name) + "." + key }
	kinds := []string{string(RouterTiered), string(RouterFallback), string(RouterCascade)}
	ok := v.enum(at("kind"), string(r.Kind), kinds...)

	if !r.membersDerived {
		v.references(at("members"), r.Name, r.Members)
	}
	if len(r.Members) == 0 {
		v.add(at("members"), ErrRequired, "must list at least one deployment or router")
	}
	if !ok {
		return
	}
	notFor := func(key string, set bool) {
		if set {
			v.add(at(key), ErrConflict, "does not apply to kind %q", r.Kind)
		}
	}
	notFor("tier", r.Kind != RouterTiered && len(r.Tiers) > 0)
	notFor("default_tier", r.Kind != RouterTiered && r.DefaultTier != "")
	notFor("fallback_on", r.Kind != RouterFallback && r.FallbackOn != nil)
	notFor("escalation", r.Kind != RouterCascade && (r.Escalation.On != nil || r.Escalation.RefusalPatterns != nil))

	switch r.Kind {
	case RouterTiered:
		names := map[string]bool{}
		var deps []string
		// When members and tiers say the same, problems go under members.
		fromMembers := r.tiersDerived || (!r.membersDerived && slices.Equal(r.Members, tierDeployments(r.Tiers)))
		for j, t := range r.Tiers {
			tp := fmt.Sprintf("%s[%d] (%q)", at("tier"), j, t.Name)
			v.validName(tp+".name", t.Name)
			if names[t.Name] && t.Name != "" {
				v.add(tp+".name", ErrDuplicate, "tier %q defined twice", t.Name)
			}
			names[t.Name] = true
			switch {
			case fromMembers:
				// Reported at members.
			case t.Deployment == "":
				v.add(tp+".deployment", ErrRequired, "must name a deployment or router")
			case t.Deployment == r.Name:
				v.add(tp+".deployment", ErrCycle, "%q refers to itself", t.Deployment)
			case !v.exists(t.Deployment):
				v.add(tp+".deployment", ErrUnknownReference, "no deployment or router is named %q", t.Deployment)
			}
			v.nonNegFloat(tp+".max_cost_per_request", t.MaxCostPerRequest)
			deps = append(deps, t.Deployment)
		}
		if !r.tiersDerived && !r.membersDerived && !slices.Equal(r.Members, deps) {
			v.add(at("members"), ErrConflict, "give members or [[router.tier]], not both (members must equal the tiers' deployments, got %s vs %s)",
				quoteList(r.Members), quoteList(deps))
		}
		if r.DefaultTier != "" && !names[r.DefaultTier] {
			v.add(at("default_tier"), ErrUnknownReference, "no tier is named %q", r.DefaultTier)
		}
	case RouterFallback:
		if len(r.Members) == 1 {
			v.add(at("members"), ErrOutOfRange, "a fallback chain needs at least 2 members, got 1")
		}
		if len(r.FallbackOn) == 0 {
			v.add(at("fallback_on"), ErrRequired, "must list at least one error code")
		}
		seen := map[string]bool{}
		for j, code := range r.FallbackOn {
			cp := fmt.Sprintf("%s[%d]", at("fallback_on"), j)
			if slices.Contains(neverFallback, code) {
				v.add(cp, ErrInvalid, "%q is never retried elsewhere: another deployment fails it the same way", code)
				continue
			}
			if v.enum(cp, code, fallbackCodes...) && seen[code] {
				v.add(cp, ErrDuplicate, "%q listed twice", code)
			}
			seen[code] = true
		}
	case RouterCascade:
		if len(r.Members) == 1 {
			v.add(at("members"), ErrOutOfRange, "a cascade needs at least 2 members, got 1")
		}
		e := r.Escalation
		if len(e.On) == 0 {
			v.add(at("escalation.on"), ErrRequired, "must list at least one check")
		}
		hasRefusal := false
		for j, c := range e.On {
			v.enum(fmt.Sprintf("%s[%d]", at("escalation.on"), j), c, EscalateFinishLength, EscalateEmpty, EscalateRefusal)
			hasRefusal = hasRefusal || c == EscalateRefusal
		}
		if hasRefusal && len(e.RefusalPatterns) == 0 {
			v.add(at("escalation.refusal_patterns"), ErrRequired, `escalation.on has "refusal" but no refusal_patterns`)
		}
		if !hasRefusal && len(e.RefusalPatterns) > 0 {
			v.add(at("escalation.refusal_patterns"), ErrConflict, `set but escalation.on lacks "refusal"`)
		}
		for j, pat := range e.RefusalPatterns {
			if _, err := regexp.Compile(pat); err != nil {
				v.add(fmt.Sprintf("%s[%d]", at("escalation.refusal_patterns"), j), ErrInvalid, "not a Go regular expression: %v", err)
			}
		}
	}
}

// edge is one reference from a deployment or router to another, with the
// key that makes it.
type edge struct {
	to, path string
}

// cycles reports cycles through serving.fallback lists, router members and tiers.
func (v *validator) cycles() {
	graph := map[string][]edge{}
	var order []string
	for i, d := range v.c.Deployments {
		order = append(order, d.Name)
		for j, f := range d.Serving.Fallback {
			graph[d.Name] = append(graph[d.Name], edge{f, fmt.Sprintf("%s.serving.fallback[%d]", deploymentPath(i, d.Name), j)})
		}
	}
	for i, r := range v.c.Routers {
		order = append(order, r.Name)
		if !r.membersDerived {
			for j, m := range r.Members {
				graph[r.Name] = append(graph[r.Name], edge{m, fmt.Sprintf("%s.members[%d]", routerPath(i, r.Name), j)})
			}
		}
		if r.Kind == RouterTiered && !r.tiersDerived && (r.membersDerived || !slices.Equal(r.Members, tierDeployments(r.Tiers))) {
			for j, t := range r.Tiers {
				graph[r.Name] = append(graph[r.Name], edge{t.Deployment, fmt.Sprintf("%s.tier[%d] (%q).deployment", routerPath(i, r.Name), j, t.Name)})
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, e := range graph[n] {
			if e.to == n {
				continue // self-reference, reported by references()
			}
			switch color[e.to] {
			case grey:
				start := slices.Index(stack, e.to)
				cyc := append(slices.Clone(stack[start:]), e.to)
				v.add(e.path, ErrCycle, "fallback cycle: %s", strings.Join(cyc, " -> "))
			case white:
				if _, known := graph[e.to]; known {
					visit(e.to)
				} else {
					color[e.to] = black
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range order {
		if color[n] == white {
			visit(n)
		}
	}
}

func tierDeployments(ts []Tier) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Deployment
	}
	return out
}
