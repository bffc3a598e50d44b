package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// DefaultEndpoint is the Gemini API (AI Studio) base URL used when
// Config.Endpoint is empty and Vertex is off.
const DefaultEndpoint = "https://generativelanguage.googleapis.com"

// MaxResponseBody bounds a unary response body (16 MiB).
const MaxResponseBody = 16 << 20

// Config configures a Runner. The zero value of each field means its
// documented default; New validates it.
type Config struct {
	// Config is the common HTTP runner configuration. Provider is always
	// "gemini". APIKey is sent as x-goog-api-key (AI Studio; required
	// unless Vertex with a Token). Endpoint defaults to DefaultEndpoint, or
	// for Vertex to https://{Location}-aiplatform.googleapis.com
	// (https://aiplatform.googleapis.com for location "global").
	// DefaultMaxTokens is the output assumed by cost estimates when a batch
	// sets no max_tokens (default 4096); MaxOutputTokens below is what is
	// sent.
	httpapi.Config

	// Vertex selects Vertex AI: requests go to {Endpoint}/{APIVersion}/
	// projects/{Project}/locations/{Location}/publishers/google/models/
	// {Model}:generateContent with Authorization: Bearer from Token.
	Vertex   bool
	Project  string
	Location string
	// Token is the Vertex bearer token source (SecretToken, CommandToken,
	// TokenFunc). It is cached until a minute before the token's expiry,
	// renewed after a 401 (the request is then sent once more), and
	// dropped by RebuildSession.
	Token TokenSource

	// APIVersion is the path's version segment: default "v1beta" for AI
	// Studio and "v1" for Vertex.
	APIVersion string
	// MaxOutputTokens is sent as generationConfig.maxOutputTokens when a
	// batch sets no max_tokens; 0 sends none (the model's own limit).
	MaxOutputTokens int
}

// withDefaults returns c with its defaults applied.
func (c Config) withDefaults() Config {
	c.Provider = runners.ProviderGemini
	if c.Endpoint == "" {
		switch {
		case !c.Vertex:
			c.Endpoint = DefaultEndpoint
		case c.Location == "global":
			c.Endpoint = "https://aiplatform.googleapis.com"
		case c.Location != "":
			c.Endpoint = "https://" + c.Location + "-aiplatform.googleapis.com"
		}
	}
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	if c.APIVersion == "" {
		c.APIVersion = "v1beta"
		if c.Vertex {
			c.APIVersion = "v1"
		}
	}
	c.Model = strings.TrimPrefix(c.Model, "models/")
	return c
}

// Validate refuses impossible values with an error naming the field.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	seg := func(field, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("gemini: %s: is empty", field))
		} else if strings.ContainsAny(v, "/?#% \t\r\n") {
			errs = append(errs, fmt.Errorf("gemini: %s: %q is not a path segment", field, v))
		}
	}
	if c.Vertex {
		seg("project", c.Project)
		seg("location", c.Location)
		if c.Token == nil && c.APIKey.IsZero() {
			errs = append(errs, errors.New("gemini: token: Vertex needs a token source (or an api_key)"))
		}
	} else {
		if c.APIKey.IsZero() {
			errs = append(errs, errors.New("gemini: api_key: a credential is required"))
		}
		if c.Token != nil {
			errs = append(errs, errors.New("gemini: token: only Vertex takes a bearer token source"))
		}
	}
	if c.Model != "" && strings.ContainsAny(c.Model, "/?#% \t\r\n:") {
		errs = append(errs, fmt.Errorf("gemini: model: %q is not a model id", c.Model))
	}
	if strings.ContainsAny(c.APIVersion, "/?#% \t\r\n") {
		errs = append(errs, fmt.Errorf("gemini: api_version: %q is not a path segment", c.APIVersion))
	}
	if c.MaxOutputTokens < 0 {
		errs = append(errs, errors.New("gemini: max_output_tokens: must not be negative"))
	}
	return errors.Join(errs...)
}

// Options are the parts of a Runner that are not configuration: the clock
// (timeouts, backoff and token expiry), the backoff jitter and the network
// dialer. The zero value means the real clock, real randomness and the
// system dialer.
type Options = httpapi.SessionOptions

// Runner is a runners.ModelRunner for Gemini, on the Gemini API (AI Studio)
// or Vertex AI. It is safe for concurrent use. The zero value is not usable;
// use New.
type Runner struct {
	runners.Defaults

	opts   Options
	jitter func(time.Duration) time.Duration

	mu    sync.Mutex // serialises rebuilds
	st    atomic.Pointer[state]
	next  atomic.Pointer[Config]
	sink  atomic.Pointer[func(*messages.RateLimitFeedback)]
	count atomic.Int64
}

// state is one session: its configuration, client, token cache and price.
type state struct {
	cfg    Config
	sess   *httpapi.Session
	tokens *tokenCache // nil unless Vertex with a Token
	price  httpapi.Price
	known  bool
}

var (
	_ runners.ModelRunner       = (*Runner)(nil)
	_ runners.RateLimitReporter = (*Runner)(nil)
)

// New validates cfg, resolves its credential and returns a runner.
func New(cfg Config, opts Options) (*Runner, error) {
	r := &Runner{opts: opts}
	if r.opts.Clock == nil {
		r.opts.Clock = clock.Real{}
	}
	r.jitter = r.opts.Jitter
	if r.jitter == nil {
		r.jitter = func(n time.Duration) time.Duration {
			if n <= 0 {
				return 0
			}
			return rand.N(n + 1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), tokenFetchTimeout)
	defer cancel()
	if err := r.install(ctx, cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// tokenFetchTimeout bounds the token fetch of New.
const tokenFetchTimeout = time.Minute

func (r *Runner) install(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	so := r.opts
	so.Table = errorTable
	so.RequireKey = !cfg.Vertex
	so.OnRateLimit = r.report
	s, err := httpapi.NewSession(cfg.Config, so)
	if err != nil {
		return err
	}
	// Google puts the retry delay of a 429 in the body (RetryInfo), not in
	// a header: surface it as one for the session's retry loop.
	s.Client().Transport = retryInfoTransport{base: s.Client().Transport}
	st := &state{cfg: cfg, sess: s}
	st.price, st.known = httpapi.LookupPrice(cfg.Model, cfg.Pricing)
	if cfg.Vertex && cfg.Token != nil {
		st.tokens = &tokenCache{src: cfg.Token, now: r.opts.Clock.Now}
		// Fetch now, so that a broken source fails the build.
		if _, err := st.tokens.get(ctx); err != nil {
			return fmt.Errorf("gemini: token: %w", err)
		}
	}
	if old := r.st.Swap(st); old != nil {
		old.sess.CloseIdleConnections()
	}
	return nil
}

// SetConfig validates cfg and keeps it for the next RebuildSession, which
// the supervisor runs with cause RemoteConfigChange. Requests in flight
// finish on the old session.
func (r *Runner) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	r.next.Store(&cfg)
	return nil
}

// RebuildSession re-reads the credential (the API key, or a fresh token
// from the token source) and builds a new HTTP client from the current
// configuration (or the one given to SetConfig). Streams in flight finish
// on the old client.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	cfg := r.st.Load().cfg
	n := r.next.Load()
	if n != nil {
		cfg = *n
	}
	if err := r.install(ctx, cfg); err != nil {
		// The error names the field or secret source, never a secret.
		return &messages.Error{Code: runners.CodeInternal, Provider: string(runners.ProviderGemini),
			Message: fmt.Sprintf("gemini: rebuilding the session (%s): %v", cause, err)}
	}
	r.next.CompareAndSwap(n, nil)
	return nil
}

// RuntimeKind returns runners.RuntimeGemini.
func (r *Runner) RuntimeKind() runners.RuntimeKind { return runners.RuntimeGemini }

// TransportKind returns remote_network(gemini).
func (r *Runner) TransportKind() runners.TransportKind {
	return runners.TransportRemote(runners.ProviderGemini)
}

// RateLimits returns the configured limits, or nil when none is set.
func (r *Runner) RateLimits() *runners.RateLimits {
	c := r.st.Load().cfg
	return c.RateLimitsOrNil()
}

// EstimateCostUSD returns the worst-case cost of batch: estimated input
// tokens plus max_tokens (MaxOutputTokens, else DefaultMaxTokens, when
// unset) at the model's price, or -1 when the price is unknown.
func (r *Runner) EstimateCostUSD(b *messages.ExecuteBatch) float64 {
	st := r.st.Load()
	out := st.cfg.MaxOutputTokens
	if out <= 0 {
		out = st.sess.Config().DefaultMaxTokens
	}
	return httpapi.EstimateCostUSD(b, st.price, st.known, out)
}

// SetRateLimitSink implements runners.RateLimitReporter: f receives the
// retry hints of 429 responses (Gemini sends no remaining-quota headers).
func (r *Runner) SetRateLimitSink(f func(*messages.RateLimitFeedback)) {
	if f == nil {
		r.sink.Store(nil)
		return
	}
	r.sink.Store(&f)
}

func (r *Runner) report(fb *messages.RateLimitFeedback) {
	if f := r.sink.Load(); f != nil {
		(*f)(fb)
	}
}

// InFlight returns the number of requests whose producers are running.
func (r *Runner) InFlight() int { return int(r.count.Load()) }

// Execute sends batch to models/{model}:generateContent (unary) or
// :streamGenerateContent?alt=sse (stream). It returns once the response
// status is known; the answer streams on the handle, and a failure after
// the first chunk arrives in-band with AfterFirstChunk set.
func (r *Runner) Execute(ctx context.Context, b *messages.ExecuteBatch) (runners.RunHandle, error) {
	if err := ctx.Err(); err != nil {
		return nil, runners.AsError(err)
	}
	st := r.st.Load()
	req, err := buildRequest(b, st.cfg.MaxOutputTokens)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "gemini: encoding request: %v", err)
	}
	pipe, pctx := runners.NewPipe(ctx, 16)
	x := &exchange{r: r, st: st, batch: b, body: body, stream: b.GetStream(), pipe: pipe, ctx: pctx}
	resp, rerr := x.send()
	if rerr != nil {
		pipe.Close()
		return nil, rerr
	}
	r.count.Add(1)
	go x.produce(resp)
	return pipe, nil
}

// url returns the request URL of the session's model for method
// ("generateContent" or "streamGenerateContent").
func (st *state) url(method string) string {
	c := &st.cfg
	var b strings.Builder
	b.WriteString(c.Endpoint)
	b.WriteString("/")
	b.WriteString(c.APIVersion)
	if c.Vertex {
		b.WriteString("/projects/")
		b.WriteString(url.PathEscape(c.Project))
		b.WriteString("/locations/")
		b.WriteString(url.PathEscape(c.Location))
		b.WriteString("/publishers/google")
	}
	b.WriteString("/models/")
	b.WriteString(url.PathEscape(c.Model))
	b.WriteString(":")
	b.WriteString(method)
	if method == "streamGenerateContent" {
		b.WriteString("?alt=sse")
	}
	return b.String()
}

// exchange is one request and its answer.
type exchange struct {
	r      *Runner
	st     *state
	batch  *messages.ExecuteBatch
	body   []byte
	stream bool
	pipe   *runners.Pipe
	ctx    context.Context
	seq    uint32
	sent   bool
	token  atomic.Value // string: the bearer token of the latest attempt
}

// send runs the session's request loop. With a Vertex token source, a 401
// drops the cached token and the request is sent once more with a fresh
// one; a second 401 is returned (the supervisor then rebuilds the session).
func (x *exchange) send() (*httpapi.Response, *messages.Error) {
	resp, err := x.st.sess.Do(x.ctx, x.build)
	if err != nil && x.st.tokens != nil && runners.AsError(err).GetCode() == runners.CodeUnauthorized {
		bad, _ := x.token.Load().(string)
		x.st.tokens.invalidate(bad)
		resp, err = x.st.sess.Do(x.ctx, x.build)
	}
	if err != nil {
		return nil, runners.AsError(err)
	}
	return resp, nil
}

func (x *exchange) build(ctx context.Context) (*http.Request, error) {
	method := "generateContent"
	if x.stream {
		method = "streamGenerateContent"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.st.url(method), bytes.NewReader(x.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if x.st.tokens != nil {
		tok, err := x.st.tokens.get(ctx)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		x.token.Store(tok)
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if k := x.st.sess.Key(); k != "" {
		req.Header.Set("x-goog-api-key", k)
	}
	if x.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	return req, nil
}

// produce reads the answer into the pipe. A retryable failure before any
// chunk has reached the caller (an UNAVAILABLE error object, a cut before
// the first text) re-sends the request under the retry policy; after the
// first chunk the failure is delivered in-band.
func (x *exchange) produce(resp *httpapi.Response) {
	defer x.r.count.Add(-1)
	pol := x.st.sess.Config().Retry
	for retry := 0; ; retry++ {
		err := x.read(resp)
		resp.Close()
		if err == nil {
			x.pipe.Finish(nil)
			return
		}
		if x.sent || retry >= pol.MaxRetries || !retryableBeforeFirst(err) || x.ctx.Err() != nil {
			x.fail(err)
			return
		}
		hint := err.RetryAfter()
		if hint > pol.MaxBackoff && !pol.IgnoreRetryAfter {
			x.fail(err)
			return
		}
		wait := backoff(x.r.jitter, pol, retry, hint)
		select {
		case <-x.st.sess.Clock().After(wait):
		case <-x.ctx.Done():
			x.fail(runners.AsError(context.Cause(x.ctx)))
			return
		}
		var rerr *messages.Error
		if resp, rerr = x.send(); rerr != nil {
			x.fail(rerr)
			return
		}
	}
}

// fail ends the stream with err, marked in-band when chunks were sent.
func (x *exchange) fail(err *messages.Error) {
	if err.GetProvider() == "" {
		err.Provider = string(runners.ProviderGemini)
	}
	err.AfterFirstChunk = x.sent
	err.RequestId = x.batch.GetRequestId()
	x.pipe.Finish(err)
}

// emit sends one chunk to the caller; false when the caller has closed.
func (x *exchange) emit(c *messages.TokenChunk) bool {
	c.RequestId = x.batch.GetRequestId()
	c.Seq = x.seq
	x.seq++
	if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		if x.st.known {
			c.CostUsd = x.st.price.Cost(c.GetUsage())
		} else {
			c.CostUnknown = true
		}
	}
	x.sent = true
	return x.pipe.Send(c)
}

func (x *exchange) secrets() []string {
	s := []string{x.st.sess.Key()}
	if tok, _ := x.token.Load().(string); tok != "" {
		s = append(s, tok)
	}
	return s
}

// read consumes one response: the unary JSON body or the SSE stream.
func (x *exchange) read(resp *httpapi.Response) *messages.Error {
	var st streamState
	errs := func(_ int, data []byte) *messages.Error { return streamError(data, x.secrets()...) }
	if !x.stream {
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
		if err != nil {
			return resp.Err(err)
		}
		if len(body) > MaxResponseBody {
			return malformed("response body over %d MiB", MaxResponseBody>>20)
		}
		c, cerr := st.chunk(body, errs)
		if cerr != nil {
			return runners.AsError(cerr)
		}
		final, ferr := st.finish()
		if ferr != nil {
			return runners.AsError(ferr)
		}
		if c != nil {
			final.Text, final.Reasoning, final.ToolCalls = c.Text, c.Reasoning, c.ToolCalls
		}
		x.emit(final)
		return nil
	}
	rd := httpapi.NewSSEReaderSize(resp.Body, x.st.sess.Config().MaxSSELine)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			final, ferr := st.finish()
			if ferr != nil {
				return runners.AsError(ferr)
			}
			x.emit(final)
			return nil
		}
		if err != nil {
			return resp.Err(err)
		}
		c, serr := st.chunk(ev.Data, errs)
		if serr != nil {
			return runners.AsError(serr)
		}
		if c != nil && !x.emit(c) {
			return runners.AsError(context.Cause(x.ctx))
		}
	}
}

// retryableBeforeFirst reports whether a failure before the first chunk may
// be retried by re-sending.
func retryableBeforeFirst(e *messages.Error) bool {
	switch e.GetCode() {
	case runners.CodeServerError, runners.CodeNetwork, runners.CodeRateLimited:
		return true
	case runners.CodeTimeout:
		return e.GetScope() == "first_token" || e.GetScope() == "idle" || e.GetScope() == "network"
	}
	return false
}

// backoff is full jitter under InitialBackoff·2^retry (capped by
// MaxBackoff), never below the hint.
func backoff(jitter func(time.Duration) time.Duration, pol httpapi.RetryPolicy, retry int, hint time.Duration) time.Duration {
	ceil := pol.InitialBackoff << min(retry, 30)
	if ceil <= 0 || ceil > pol.MaxBackoff {
		ceil = pol.MaxBackoff
	}
	if pol.IgnoreRetryAfter {
		hint = 0
	}
	return max(hint, jitter(ceil))
}
