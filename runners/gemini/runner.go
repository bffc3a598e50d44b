package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Source returns the runner's configuration. The runner calls it in
// NewWithSource // and on every RebuildSession, so a changed endpoint, timeout, credential
// source or token source takes effect on the next session.
type Source func() (Config, error)

// Static returns a Source that always returns cfg.
func Static(cfg Config) Source { return func() (Config, error) { return cfg, nil } }

// Options are a Runner's collaborators; the zero value is production.
type Options = httpapi.RunnerOptions

// Runner is a runners.ModelRunner for Gemini, on the Gemini API (AI Studio)
// or Vertex AI. It is safe for concurrent use. The zero value is not usable;
// use New.
type Runner struct {
	runners.Defaults

	src  Source
	opts Options

	mu                    sync.Mutex // serialises rebuilds
	st                    atomic.Pointer[state]
	httpapi.RateLimitSink // SetRateLimitSink
	count                 atomic.Int64
}

// state is one immutable session generation: configuration (defaults
// applied), HTTP session, token cache and price.
type state struct {
	cfg      Config
	sess     *httpapi.Session
	tokens   *tokenCache // nil unless Vertex with a Token
	price    httpapi.Price
	known    bool
	warnOnce sync.Once
}

var (
	_ runners.ModelRunner       = (*Runner)(nil)
	_ runners.RateLimitReporter = (*Runner)(nil)
)

// tokenFetchTimeout bounds the token fetch of a session build.
const tokenFetchTimeout = time.Minute

// New validates cfg, resolves its credential (or fetches a first Vertex
// token) and returns a runner whose RebuildSession re-reads the credential.
// It is NewWithSource(Static(cfg), opts).
func New(cfg Config, opts Options) (*Runner, error) { return NewWithSource(Static(cfg), opts) }

// NewWithSource reads the configuration from src, validates it, resolves
// the credential (or fetches a first Vertex token) and returns a runner;
// RebuildSession calls src again, so a reloaded configuration takes effect.
// Errors are *messages.Error: bad_request for an invalid configuration,
// unauthorized for a credential or token that cannot be had; they name the
// field or the source, never a secret.
func NewWithSource(src Source, opts Options) (*Runner, error) {
	r := &Runner{src: src, opts: opts}
	if r.opts.Clock == nil {
		r.opts.Clock = clock.Real{}
	}
	st, err := r.newState(context.Background())
	if err != nil {
		return nil, err
	}
	r.st.Store(st)
	return r, nil
}

func configError(err error) *messages.Error {
	return &messages.Error{Code: runners.CodeBadRequest, Provider: string(runners.ProviderGemini),
		Message: "gemini: configuration: " + httpapi.Sanitize(err.Error(), 1000)}
}

func credentialError(err error) *messages.Error {
	return &messages.Error{Code: runners.CodeUnauthorized, Provider: string(runners.ProviderGemini),
		Message: "gemini: session: " + httpapi.Sanitize(err.Error(), 1000)}
}

// newState reads the source and builds a session from it.
func (r *Runner) newState(ctx context.Context) (*state, error) {
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
		RequireKey:  !cfg.Vertex,
		Jitter:      r.opts.Jitter,
		DialContext: r.opts.DialContext,
		TLSConfig:   r.opts.TLSConfig,
	})
	if err != nil {
		return nil, credentialError(err)
	}
	// Google puts the retry delay of a 429 in the body (RetryInfo), not in
	// a header: surface it as one for the session's retry loop. The client
	// is not in use yet.
	s.Client().Transport = retryInfoTransport{base: s.Client().Transport}
	applied := s.Config()
	cfg.Timeouts, cfg.Retry = applied.Timeouts, applied.Retry
	cfg.DefaultMaxTokens, cfg.MaxSSELine = applied.DefaultMaxTokens, applied.MaxSSELine
	st := &state{cfg: cfg, sess: s}
	st.price, st.known = cfg.Config.Price()
	if cfg.Vertex && cfg.Token != nil {
		st.tokens = &tokenCache{src: cfg.Token, now: r.opts.Clock.Now}
		tctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
		defer cancel()
		// Fetch now, so that a broken source fails the build.
		if _, err := st.tokens.get(tctx); err != nil {
			s.CloseIdleConnections()
			return nil, credentialError(fmt.Errorf("token: %w", err))
		}
	}
	return st, nil
}

// RebuildSession re-reads the configuration from the Source, resolves the
// credential again (a rotated key file takes effect; a Vertex token is
// fetched anew) and swaps in a new HTTP client. Streams in flight finish on
// the old client. On error the old session stays in place and the
// *messages.Error says why.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	st, err := r.newState(ctx)
	if err != nil {
		return err
	}
	old := r.st.Swap(st)
	old.sess.CloseIdleConnections()
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
	return r.st.Load().cfg.RateLimitsOrNil()
}

// EstimateCostUSD returns the worst-case cost of batch: estimated input
// tokens plus max_tokens (MaxOutputTokens, else DefaultMaxTokens, when
// unset) at the model's price, or -1 when the price is unknown (logged once
// per session).
func (r *Runner) EstimateCostUSD(b *messages.ExecuteBatch) float64 {
	st := r.st.Load()
	if !st.known {
		r.warnUnknownPrice(st)
	}
	out := st.cfg.MaxOutputTokens
	if out <= 0 {
		out = st.cfg.DefaultMaxTokens
	}
	return httpapi.EstimateCostUSD(b, st.price, st.known, out)
}

func (r *Runner) warnUnknownPrice(st *state) {
	st.warnOnce.Do(func() {
		if r.opts.Logger != nil {
			r.opts.Logger.Warn("model price unknown; costs are reported as unknown",
				"provider", string(runners.ProviderGemini), "model", st.cfg.Model)
		}
	})
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
	if err := x.st.sess.Resend(x.ctx, resp, x.read, func() bool { return x.sent }, x.send); err != nil {
		x.fail(err)
		return
	}
	x.pipe.Finish(nil)
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
			x.r.warnUnknownPrice(x.st)
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
