package gateway

import (
	"math"
	"net/http"
	"strconv"

	"github.com/actorinfer/actorinfer/messages"
)

// Request headers that carry actorinfer's scheduling hints, which OpenAI's
// body has no place for. All are optional.
const (
	// HeaderPriority is an integer; higher is served first from a queue.
	HeaderPriority = "X-Actorinfer-Priority"
	// HeaderTier names the tier a tiered router should use.
	HeaderTier = "X-Actorinfer-Tier"
	// HeaderMaxCostUSD caps the estimated cost of the request, for routers.
	HeaderMaxCostUSD = "X-Actorinfer-Max-Cost-Usd"
)

const maxTierLen = 64

// applyHints copies the hint headers into b, refusing malformed values with
// a 400 that names the header.
func applyHints(h http.Header, b *messages.ExecuteBatch) *apiError {
	if v := h[HeaderPriority]; len(v) > 0 {
		p, err := strconv.ParseInt(v[0], 10, 32)
		if err != nil {
			return invalidParam(HeaderPriority, HeaderPriority+" must be an integer")
		}
		b.Priority = int32(p)
	}
	if v := h[HeaderTier]; len(v) > 0 {
		if !saneName(v[0], maxTierLen) {
			return invalidParam(HeaderTier, HeaderTier+" must be a short name of letters, digits, '-', '_' or '.'")
		}
		b.Tier = v[0]
	}
	if v := h[HeaderMaxCostUSD]; len(v) > 0 {
		c, err := strconv.ParseFloat(v[0], 64)
		if err != nil || c < 0 || math.IsInf(c, 0) || math.IsNaN(c) {
			return invalidParam(HeaderMaxCostUSD, HeaderMaxCostUSD+" must be a non-negative number of US dollars")
		}
		b.MaxCostUsd = c
	}
	return nil
}

// saneName reports whether s is 1..max characters of [A-Za-z0-9._:-].
func saneName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
