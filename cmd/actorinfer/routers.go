package main

import (
	"fmt"
	"regexp"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// routerSpec maps one validated [[router]] table onto the actors' RouterSpec.
func routerSpec(r *config.Router) (*actors.RouterSpec, error) {
	kind, err := actors.ParseRouterKind(string(r.Kind))
	if err != nil {
		return nil, err
	}
	spec := &actors.RouterSpec{Name: r.Name, Kind: kind, Members: r.Members, DefaultTier: r.DefaultTier}
	switch kind {
	case actors.RouterTiered:
		spec.Members = nil
		for _, t := range r.Tiers {
			spec.Tiers = append(spec.Tiers, actors.Tier{Name: t.Name, Member: t.Deployment, MaxCostUSD: t.MaxCostPerRequest})
		}
	case actors.RouterFallback:
		if len(r.FallbackOn) > 0 {
			for _, slug := range r.FallbackOn {
				code, ok := messages.ErrorCodeFromSlug(slug)
				if !ok {
					return nil, fmt.Errorf("fallback_on: unknown error code %q", slug)
				}
				spec.FallbackOn = append(spec.FallbackOn, runners.Code(code))
			}
		}
	case actors.RouterCascade:
		for _, on := range r.Escalation.On {
			switch on {
			case "finish_length":
				spec.Escalation.FinishLength = true
			case "empty":
				spec.Escalation.Empty = true
			case "refusal":
				for _, p := range r.Escalation.RefusalPatterns {
					re, err := regexp.Compile(p)
					if err != nil {
						return nil, fmt.Errorf("escalation.refusal_patterns: %w", err)
					}
					spec.Escalation.Refusals = append(spec.Escalation.Refusals, re)
				}
			}
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return spec, nil
}
