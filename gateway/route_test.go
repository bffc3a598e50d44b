package gateway

import (
	"testing"

	"github.com/actorinfer/actorinfer/messages"
)

func TestFormatRoutes(t *testing.T) {
	got := formatRoutes([]*messages.RouteInfo{
		{Router: "auto", Kind: "tiered", Member: "local", Tier: "cheap", Requested: "premium", Reason: "over_request_budget"},
		{Router: "chain", Kind: "fallback", Member: "backup", Reason: "rate_limited"},
	})
	want := "auto; kind=tiered; member=local; tier=cheap; requested=premium; reason=over_request_budget, " +
		"chain; kind=fallback; member=backup; reason=rate_limited"
	if got != want {
		t.Fatalf("formatRoutes = %q, want %q", got, want)
	}
}
