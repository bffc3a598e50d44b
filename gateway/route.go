package gateway

import (
	"net/http"
	"strings"

	"github.com/actorinfer/actorinfer/messages"
)

// HeaderRoute carries the routers' decisions for a routed request, one
// entry per router (outermost first), comma-separated:
//
//	X-Actorinfer-Route: auto; kind=tiered; member=local; tier=cheap; requested=premium; reason=over_request_budget
const HeaderRoute = "X-Actorinfer-Route"

// setServedBy writes the headers that say who served the request.
func (x *exchange) setServedBy(h http.Header) {
	if x.deployment != "" {
		h.Set("X-Actorinfer-Deployment", x.deployment)
	}
	if x.route != "" {
		h.Set(HeaderRoute, x.route)
	}
}

// formatRoutes renders route decisions for HeaderRoute. Every value is a
// configured name or a fixed slug, so the header needs no quoting.
func formatRoutes(routes []*messages.RouteInfo) string {
	var b strings.Builder
	for i, r := range routes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.GetRouter())
		kv := func(k, v string) {
			if v != "" {
				b.WriteString("; ")
				b.WriteString(k)
				b.WriteByte('=')
				b.WriteString(v)
			}
		}
		kv("kind", r.GetKind())
		kv("member", r.GetMember())
		kv("tier", r.GetTier())
		kv("requested", r.GetRequested())
		kv("reason", r.GetReason())
	}
	return b.String()
}
