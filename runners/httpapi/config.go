package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"

	"github.com/actorinfer/actorinfer/runners"
)

// The documented defaults of Timeouts and RetryPolicy.
const (
	DefaultConnectTimeout    = 5 * time.Second
	DefaultFirstTokenTimeout = 10 * time.Minute // reasoning models think for minutes
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultTotalTimeout      = 30 * time.Minute
	DefaultMaxRetries        = 3
	DefaultInitialBackoff    = 1 * time.Second
	DefaultMaxBackoff        = 60 * time.Second
	DefaultMaxTokens         = 4096 // assumed output when a batch sets none (cost estimates)
)

// Timeouts bounds one request. Each expiry is reported as a timeout error
// whose Scope names it ("connect", "first_token", "idle", "total"), never as
// a network error. A zero field means its default.
type Timeouts struct {
	// Connect bounds the TCP connect and the TLS handshake. Default 5s.
	// It is enforced by the dialer in real time, not by the session clock.
	Connect time.Duration
	// FirstToken bounds the wait from sending the request to the first byte
	// of the response body (the first SSE event, or the whole unary answer
	// starting to arrive). Default 10m.
	FirstToken time.Duration
	// Idle bounds the gap between two reads of the response body once it
	// has started (SSE keep-alive comments count as data). Default 5m.
	Idle time.Duration
	// Total bounds the whole request: every attempt, the backoff between
	// them and the stream. Default 30m.
	Total time.Duration
}

// WithDefaults returns t with zero fields set to their defaults.
func (t Timeouts) WithDefaults() Timeouts {
	t.Connect = orDefault(t.Connect, DefaultConnectTimeout)
	t.FirstToken = orDefault(t.FirstToken, DefaultFirstTokenTimeout)
	t.Idle = orDefault(t.Idle, DefaultIdleTimeout)
	t.Total = orDefault(t.Total, DefaultTotalTimeout)
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// RetryPolicy says how a failed request is retried before its first byte
// reaches the caller: rate_limited, server_error, network and connect /
// first-token timeouts are retried with exponential backoff and full jitter
// (wait = random in [0, min(MaxBackoff, InitialBackoff·2^n)]), and never less
// than the provider's Retry-After hint. The zero value is the default policy.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 means
	// DefaultMaxRetries (3). Set NoRetries for none.
	MaxRetries int
	// NoRetries disables retries (max_retries = 0 in the config file).
	NoRetries bool
	// InitialBackoff is the first backoff cap. Default 1s.
	InitialBackoff time.Duration
	// MaxBackoff caps every backoff, and is the longest Retry-After hint the
	// request waits out: a longer hint fails the request at once with the
	// hint attached, so that a fallback can take it. Default 60s.
	MaxBackoff time.Duration
	// IgnoreRetryAfter disregards the provider's hints
	// (respect_retry_after = false).
	IgnoreRetryAfter bool
}

// WithDefaults returns p with zero fields set to their defaults.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxRetries == 0 {
		p.MaxRetries = DefaultMaxRetries
	}
	if p.NoRetries {
		p.MaxRetries = 0
	}
	p.InitialBackoff = orDefault(p.InitialBackoff, DefaultInitialBackoff)
	p.MaxBackoff = orDefault(p.MaxBackoff, DefaultMaxBackoff)
	return p
}

// Config is what every HTTP runner is configured with; provider packages
// embed it and add their own fields. The config package maps a deployment
// onto it. The zero value of each field means its documented default; call
// Validate before use. A Config is a plain value: copy it freely (Headers
// and Pricing are shared by copies; do not modify them after use).
type Config struct {
	// Provider labels errors and metrics: "openai", "azure-openai",
	// "litellm", "openai-compatible", "anthropic", "gemini".
	Provider runners.ProviderKind
	// Endpoint is the provider base URL exactly as its official SDK takes
	// it (https://api.openai.com/v1, https://{resource}.openai.azure.com,
	// https://api.anthropic.com, https://generativelanguage.googleapis.com).
	// Provider packages supply their default when it is empty.
	Endpoint string
	// APIKey is the credential, resolved when a session is built and
	// re-read on every RebuildSession.
	APIKey Secret
	// Model is the provider's model id.
	Model string
	// Timeouts bound each request; see Timeouts.
	Timeouts Timeouts
	// Retry is the retry policy; see RetryPolicy.
	Retry RetryPolicy
	// NonIdempotent disables retries entirely (idempotent = false).
	NonIdempotent bool
	// RateLimits are returned by the runner's RateLimits (nil when zero).
	RateLimits runners.RateLimits
	// Pricing overrides the built-in price table for this deployment
	// ([deployment.pricing]).
	Pricing *Price
	// FallbackPricing prices a model the built-in table does not know, when
	// Pricing is nil (budget unknown_price = "estimate"). Nil: such a model's
	// cost is unknown.
	FallbackPricing *Price
	// Headers are extra request headers (for example a gateway's routing
	// header). They are sent as given and never logged.
	Headers map[string]string
	// DefaultMaxTokens is the output assumed by cost estimates when a batch
	// sets no max_tokens; 0 means DefaultMaxTokens.
	DefaultMaxTokens int
	// MaxSSELine bounds one SSE line; 0 means DefaultMaxSSELine.
	MaxSSELine int
}

// Validate refuses impossible values with an error naming the field. It
// does not resolve the secret (NewSession does).
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("httpapi: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Endpoint == "" {
		bad("endpoint", "is empty")
	} else if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("endpoint", "must be an absolute http(s) URL")
	} else if u.User != nil {
		bad("endpoint", "must not carry credentials; use api_key")
	}
	if strings.TrimSpace(c.Model) == "" {
		bad("model", "is empty")
	}
	if err := c.APIKey.Validate(); err != nil {
		bad("api_key", "%v", err)
	}
	for name, d := range map[string]time.Duration{
		"timeouts.connect": c.Timeouts.Connect, "timeouts.first_token": c.Timeouts.FirstToken,
		"timeouts.idle": c.Timeouts.Idle, "timeouts.total": c.Timeouts.Total,
		"retry.initial_backoff": c.Retry.InitialBackoff, "retry.max_backoff": c.Retry.MaxBackoff,
	} {
		if d < 0 {
			bad(name, "must not be negative (got %s)", d)
		}
	}
	if c.Retry.MaxRetries < 0 {
		bad("retry.max_retries", "must not be negative (got %d)", c.Retry.MaxRetries)
	}
	r := c.Retry.WithDefaults()
	if r.InitialBackoff > r.MaxBackoff {
		bad("retry.initial_backoff", "%s exceeds max_backoff %s", r.InitialBackoff, r.MaxBackoff)
	}
	if c.RateLimits.RequestsPerMinute < 0 || c.RateLimits.TokensPerMinute < 0 || c.RateLimits.ConcurrentRequests < 0 {
		bad("rate_limits", "must not be negative")
	}
	for name, p := range map[string]*Price{"pricing": c.Pricing, "fallback_pricing": c.FallbackPricing} {
		if p != nil && (p.Input < 0 || p.Output < 0 || p.CachedInput < 0 || p.CacheWrite < 0) {
			bad(name, "must not be negative")
		}
	}
	for k := range c.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || http.CanonicalHeaderKey(k) == "" {
			bad("headers", "invalid header name %q", k)
		}
	}
	for k, v := range c.Headers {
		if strings.ContainsAny(v, "\r\n") {
			bad("headers", "value of %q contains a line break", k)
		}
	}
	if c.DefaultMaxTokens < 0 {
		bad("default_max_tokens", "must not be negative")
	}
	if c.MaxSSELine < 0 {
		bad("max_sse_line", "must not be negative")
	}
	return errors.Join(errs...)
}

// Price returns the deployment's price: Pricing when set, else the built-in
// table's entry for Model (see LookupPrice), else FallbackPricing. The
// second result is false when the price is unknown.
func (c *Config) Price() (Price, bool) {
	if p, ok := LookupPrice(c.Model, c.Pricing); ok {
		return p, true
	}
	if c.FallbackPricing != nil {
		return *c.FallbackPricing, true
	}
	return Price{}, false
}

// RateLimitsOrNil returns the configured limits, or nil when none is set.
func (c *Config) RateLimitsOrNil() *runners.RateLimits {
	if c.RateLimits.IsZero() {
		return nil
	}
	l := c.RateLimits
	return &l
}

// RunnerOptions are an HTTP runner's collaborators, shared by every
// provider package (each aliases it as its Options); the zero value is
// production.
type RunnerOptions struct {
	// Clock times timeouts, backoff sleeps and token expiry; nil means the
	// real clock.
	Clock clock.Clock
	// Logger receives the runner's rare log lines (an unknown price, logged
	// once per session); nil discards them. Secrets are never logged.
	Logger *slog.Logger
	// Jitter returns a random duration in [0, n] for the backoff; nil means
	// math/rand/v2. Tests pin it.
	Jitter func(n time.Duration) time.Duration
	// DialContext and TLSConfig are passed to SessionOptions (tests simulate
	// unreachable hosts and trust a test CA).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	TLSConfig   *tls.Config
}
