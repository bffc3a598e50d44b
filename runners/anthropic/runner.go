package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// DefaultEndpoint is the Messages API base URL used when Config.Endpoint is
// empty.
const DefaultEndpoint = "https://api.anthropic.com"

// MaxResponseBody bounds a unary response body (16 MiB).
const MaxResponseBody = 16 << 20

// Config configures a Runner. The zero value of each field means its
// documented default; New validates it.
type Config struct {
	// Config is the common HTTP runner configuration. Endpoint defaults to
	// DefaultEndpoint; Provider is always "anthropic"; DefaultMaxTokens is
	// both the max_tokens sent when a batch sets none (the Messages API
	// requires one) and the output assumed by cost estimates (default 4096).
	httpapi.Config
	// Version is the anthropic-version header (default "2023-06-01").
	Version string
	// Beta lists anthropic-beta feature flags, sent comma-joined when set.
	Beta []string
}

// withDefaults returns c with its defaults applied.
func (c Config) withDefaults() Config {
	c.Provider = runners.ProviderAnthropic
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	if c.DefaultMaxTokens == 0 {
		c.DefaultMaxTokens = DefaultMaxTokens
	}
	if c.Version == "" {
		c.Version = apiVersion
	}
	return c
}

// Validate refuses impossible values with an error naming the field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.APIKey.IsZero() {
		errs = append(errs, errors.New("anthropic: api_key: a credential is required"))
	}
	if strings.ContainsAny(c.Version, "\r\n") {
		errs = append(errs, errors.New("anthropic: version: contains a line break"))
	}
	for _, b := range c.Beta {
		if b == "" || strings.ContainsAny(b, ",\r\n") {
			errs = append(errs, fmt.Errorf("anthropic: beta: invalid flag %q", b))
		}
	}
	return errors.Join(errs...)
}

// Source returns the runner's configuration. The runner calls it in
// NewWithSource // and on every RebuildSession, so a changed endpoint, timeout or credential
// source takes effect on the next session (cause RemoteConfigChange).
type Source func() (Config, error)

// Static returns a Source that always returns cfg.
func Static(cfg Config) Source { return func() (Config, error) { return cfg, nil } }

// Options are a Runner's collaborators; the zero value is production.
type Options = httpapi.RunnerOptions

// Runner is a runners.ModelRunner for the Anthropic Messages API. It is safe
// for concurrent use. The zero value is not usable; use New.
type Runner struct {
	runners.Defaults

	src  Source
	opts Options

	mu                    sync.Mutex // serialises rebuilds
	cur                   atomic.Pointer[state]
	httpapi.RateLimitSink // SetRateLimitSink
	inFlight              atomic.Int64
}

// state is one immutable session generation: configuration (defaults
// applied), HTTP session and price.
type state struct {
	cfg      Config
	sess     *httpapi.Session
	price    httpapi.Price
	known    bool
	warnOnce sync.Once
}

var (
	_ runners.ModelRunner       = (*Runner)(nil)
	_ runners.RateLimitReporter = (*Runner)(nil)
)

// errorTable classifies Anthropic error bodies
// (https://docs.anthropic.com/en/api/errors). The shared defaults know the
// error types (rate_limit_error, overloaded_error, api_error,
// authentication_error, permission_error, not_found_error,
// request_too_large, timeout_error); invalid_request_error is left to the
// status (400 bad_request) so that the message rules can recognise a prompt
// that does not fit ("prompt is too long: …", "… exceed context limit: …")
// as context_length_exceeded. A 529 (overloaded) is a retryable server error.
var errorTable = httpapi.NewErrorTable(string(runners.ProviderAnthropic),
	map[int]runners.Code{529: runners.CodeServerError},
	map[string]runners.Code{"billing_error": runners.CodeForbidden},
	httpapi.MessageRule{Contains: "exceed context limit", Code: runners.CodeContextLengthExceeded})

// New validates cfg, resolves its credential and returns a runner whose
// RebuildSession re-reads the credential (a rotated key file takes effect).
// It is NewWithSource(Static(cfg), opts).
func New(cfg Config, opts Options) (*Runner, error) { return NewWithSource(Static(cfg), opts) }

// NewWithSource reads the configuration from src, validates it, resolves
// the credential and returns a runner; RebuildSession calls src again, so a
// reloaded configuration takes effect. Errors are *messages.Error:
// bad_request for an invalid configuration, unauthorized for a credential
// that cannot be read; they name the field or the secret's source, never a
// secret.
func NewWithSource(src Source, opts Options) (*Runner, error) {
	r := &Runner{src: src, opts: opts}
	if r.opts.Clock == nil {
		r.opts.Clock = clock.Real{}
	}
	st, err := r.newState()
	if err != nil {
		return nil, err
	}
	r.cur.Store(st)
	return r, nil
}

func configError(err error) *messages.Error {
	return &messages.Error{Code: runners.CodeBadRequest, Provider: string(runners.ProviderAnthropic),
		Message: "anthropic: configuration: " + httpapi.Sanitize(err.Error(), 1000)}
}

// newState reads the source and builds a session from it.
func (r *Runner) newState() (*state, error) {
	cfg, err := r.src()
	if err != nil {
		return nil, configError(err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, configError(err)
	}
	cfg = cfg.withDefaults()
	s, err := httpapi.NewSession(cfg.Config, httpapi.SessionOptions{
		Table:       errorTable,
		Clock:       r.opts.Clock,
		OnRateLimit: r.Report,
		RequireKey:  true,
		Jitter:      r.opts.Jitter,
		DialContext: r.opts.DialContext,
		TLSConfig:   r.opts.TLSConfig,
	})
	if err != nil {
		return nil, &messages.Error{Code: runners.CodeUnauthorized, Provider: string(runners.ProviderAnthropic),
			Message: "anthropic: session: " + httpapi.Sanitize(err.Error(), 1000)}
	}
	// Carry httpapi's defaults back (timeouts, retries, MaxSSELine).
	applied := s.Config()
	cfg.Timeouts, cfg.Retry, cfg.MaxSSELine = applied.Timeouts, applied.Retry, applied.MaxSSELine
	st := &state{cfg: cfg, sess: s}
	st.price, st.known = cfg.Config.Price()
	return st, nil
}

// RebuildSession re-reads the configuration from the Source, resolves the
// credential again (a rotated key file takes effect) and swaps in a new
// HTTP client. Streams in flight finish on the old client, whose idle
// connections are closed. On error the old session stays in place and the
// *messages.Error says why.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	st, err := r.newState()
	if err != nil {
		return err
	}
	old := r.cur.Swap(st)
	old.sess.CloseIdleConnections()
	return nil
}

// RuntimeKind returns runners.RuntimeAnthropic.
func (r *Runner) RuntimeKind() runners.RuntimeKind { return runners.RuntimeAnthropic }

// TransportKind returns remote_network(anthropic).
func (r *Runner) TransportKind() runners.TransportKind {
	return runners.TransportRemote(runners.ProviderAnthropic)
}

// RateLimits returns the configured limits, or nil when none is set.
func (r *Runner) RateLimits() *runners.RateLimits {
	return r.cur.Load().cfg.RateLimitsOrNil()
}

// EstimateCostUSD returns the worst-case cost of batch: estimated input
// tokens plus max_tokens (DefaultMaxTokens when unset) at the model's price,
// or -1 when the model's price is unknown (logged once per session).
func (r *Runner) EstimateCostUSD(b *messages.ExecuteBatch) float64 {
	st := r.cur.Load()
	if !st.known {
		r.warnUnknownPrice(st)
	}
	return httpapi.EstimateCostUSD(b, st.price, st.known, st.cfg.DefaultMaxTokens)
}

func (r *Runner) warnUnknownPrice(st *state) {
	st.warnOnce.Do(func() {
		if r.opts.Logger != nil {
			r.opts.Logger.Warn("model price unknown; costs are reported as unknown",
				"provider", string(runners.ProviderAnthropic), "model", st.cfg.Model)
		}
	})
}

// InFlight returns the number of requests whose producers are running.
func (r *Runner) InFlight() int { return int(r.inFlight.Load()) }

// Execute sends batch to POST {endpoint}/v1/messages. It returns once the
// response status is known: errors before that (including retries
// exhausted) are returned here. The answer streams on the handle; a failure
// after the first chunk arrives in-band with AfterFirstChunk set.
func (r *Runner) Execute(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
	if err := ctx.Err(); err != nil {
		return nil, runners.AsError(err)
	}
	st := r.cur.Load()
	req, err := buildRequest(b, st.cfg.Model, st.cfg.DefaultMaxTokens)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: encoding request: %v", err)
	}
	pipe, pctx := runners.NewPipe(ctx, 16)
	x := &exchange{r: r, st: st, cfg: &st.cfg, sess: st.sess, batch: b, body: body, stream: b.GetStream(), pipe: pipe, ctx: pctx}
	resp, rerr := x.send()
	if rerr != nil {
		pipe.Close()
		return nil, rerr
	}
	r.inFlight.Add(1)
	go x.produce(resp)
	return pipe, nil
}

// exchange is one request and its answer.
type exchange struct {
	r      *Runner
	st     *state
	cfg    *Config
	sess   *httpapi.Session
	batch  *messages.ExecuteBatch
	body   []byte
	stream bool
	pipe   *runners.Pipe
	ctx    context.Context
	seq    uint32
	sent   bool // a chunk has reached the caller
}

// send runs the session's request loop (retries before the response).
func (x *exchange) send() (*httpapi.Response, *messages.Error) {
	resp, err := x.sess.Do(x.ctx, x.build)
	if err != nil {
		return nil, runners.AsError(err)
	}
	return resp, nil
}

func (x *exchange) build(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.cfg.Endpoint+"/v1/messages", bytes.NewReader(x.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", x.sess.Key())
	req.Header.Set("anthropic-version", x.cfg.Version)
	if len(x.cfg.Beta) > 0 {
		req.Header.Set("anthropic-beta", strings.Join(x.cfg.Beta, ","))
	}
	if x.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	return req, nil
}

// produce reads the answer into the pipe. A retryable failure before any
// chunk has reached the caller (an overloaded_error event, a cut before the
// first text) re-sends the request, within the retry policy; after the
// first chunk the failure is delivered in-band.
func (x *exchange) produce(resp *httpapi.Response) {
	defer x.r.inFlight.Add(-1)
	if err := x.sess.Resend(x.ctx, resp, x.read, func() bool { return x.sent }, x.send); err != nil {
		x.fail(err)
		return
	}
	x.pipe.Finish(nil)
}

// fail ends the stream with err, marked in-band when chunks were sent.
func (x *exchange) fail(err *messages.Error) {
	if err.GetProvider() == "" {
		err.Provider = string(runners.ProviderAnthropic)
	}
	err.AfterFirstChunk = x.sent
	err.RequestId = x.batch.GetRequestId()
	x.pipe.Finish(err)
}

// emit sends one chunk to the caller. It returns false when the caller has
// closed the handle.
func (x *exchange) emit(c *messages.TokenChunk) bool {
	c.RequestId = x.batch.GetRequestId()
	c.Seq = x.seq
	x.seq++
	if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		if x.st.known {
			c.CostUsd = x.st.price.Cost(c.GetUsage())
		} else {
			x.r.warnUnknownPrice(x.st)
			c.CostUnknown = true
		}
	}
	x.sent = true
	return x.pipe.Send(c)
}

// read consumes one response: the unary JSON body or the SSE stream.
func (x *exchange) read(resp *httpapi.Response) *messages.Error {
	if !x.stream {
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
		if err != nil {
			return resp.Err(err)
		}
		if len(body) > MaxResponseBody {
			return malformed("response body over %d MiB", MaxResponseBody>>20)
		}
		m, derr := decodeResponse(body)
		if derr != nil {
			return runners.AsError(derr)
		}
		c, cerr := responseChunk(m)
		if cerr != nil {
			return runners.AsError(cerr)
		}
		x.emit(c)
		return nil
	}
	var st streamState
	rd := httpapi.NewSSEReaderSize(resp.Body, x.cfg.MaxSSELine)
	for {
		ev, err := rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the body ended before message_stop
			}
			return resp.Err(err)
		}
		c, serr := st.event(ev.Event, ev.Data)
		if serr != nil {
			return runners.AsError(serr)
		}
		if c != nil && !x.emit(c) {
			return runners.AsError(context.Cause(x.ctx))
		}
		if st.done {
			return nil
		}
	}
}
