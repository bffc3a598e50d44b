package fake

import (
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// DefaultMaxTokens caps an answer whose batch leaves Sampling.MaxTokens at 0.
const DefaultMaxTokens = 256

// Option configures a Runner at New.
type Option func(*config)

// config is what the options set; it never changes after New.
type config struct {
	runtime   runners.RuntimeKind
	transport runners.TransportKind
	limits    *runners.RateLimits
	price     *price
	unknown   bool // price unknown: estimates are negative, chunks cost_unknown
	delay     time.Duration
	clock     clock.Clock
	reply     func(*messages.ExecuteBatch) string
	model     string
	maxTokens int
	buffer    int
	stage     Stage
	feedback  bool
}

// price is a model's price in USD per million tokens.
type price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// WithRuntimeKind sets what RuntimeKind reports (default runners.RuntimeFake).
func WithRuntimeKind(k runners.RuntimeKind) Option {
	return func(c *config) { c.runtime = k }
}

// WithTransportKind sets what TransportKind reports (default LocalCPU), for
// example runners.TransportRemote(runners.ProviderOpenAI) to stand in for a
// remote deployment in placement tests.
func WithTransportKind(t runners.TransportKind) Option {
	return func(c *config) { c.transport = t }
}

// WithRateLimits sets what RateLimits reports (default nil: no limits).
func WithRateLimits(l runners.RateLimits) Option {
	return func(c *config) { c.limits = &l }
}

// WithPrice prices the model in USD per million input and output tokens.
// Without it the runner is free: estimates and costs are 0.
func WithPrice(inputPerMTok, outputPerMTok float64) Option {
	return func(c *config) {
		c.price = &price{InputPerMTok: inputPerMTok, OutputPerMTok: outputPerMTok}
		c.unknown = false
	}
}

// WithUnknownPrice makes the price unknown: EstimateCostUSD returns -1 and
// last chunks set cost_unknown, as a remote runner missing from the pricing
// table does.
func WithUnknownPrice() Option {
	return func(c *config) { c.price, c.unknown = nil, true }
}

// WithTokenDelay makes every token wait d on the runner's clock before it is
// produced (default 0: no wait).
func WithTokenDelay(d time.Duration) Option {
	return func(c *config) { c.delay = d }
}

// WithClock sets the clock token delays wait on (default clock.Real{}).
func WithClock(clk clock.Clock) Option {
	return func(c *config) { c.clock = clk }
}

// WithReply replaces the echo: f returns the text to answer batch with, which
// is then tokenized, capped and stopped like the echo. f must be
// deterministic and safe for concurrent use.
func WithReply(f func(batch *messages.ExecuteBatch) string) Option {
	return func(c *config) { c.reply = f }
}

// WithModel sets the model id last chunks report (default: the batch's model).
func WithModel(model string) Option {
	return func(c *config) { c.model = model }
}

// WithDefaultMaxTokens sets the cap used when a batch's max_tokens is 0
// (default DefaultMaxTokens).
func WithDefaultMaxTokens(n int) Option {
	return func(c *config) { c.maxTokens = n }
}

// WithBuffer sets how many chunks a streaming producer may run ahead of its
// consumer (default 8).
func WithBuffer(n int) Option {
	return func(c *config) { c.buffer = n }
}

// WithFaultStage sets the initial fault stage (see SetFaultStage).
func WithFaultStage(s Stage) Option {
	return func(c *config) { c.stage = s }
}

// WithRateLimitFeedback makes every rate_limited failure (RateLimitNext, or
// FailNth/FailFrom with a rate_limited *messages.Error) also report its
// retry hint to the sink registered with SetRateLimitSink, as a provider's
// 429 headers do. Off by default, so that a registered sink hears only
// ReportRateLimit.
func WithRateLimitFeedback() Option {
	return func(c *config) { c.feedback = true }
}
