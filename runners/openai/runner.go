package openai

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

var (
	_ runners.ModelRunner       = (*Runner)(nil)
	_ runners.RateLimitReporter = (*Runner)(nil)
)

// Options are a Runner's collaborators; the zero value is production.
type Options = httpapi.RunnerOptions

// Runner is a runners.ModelRunner for the Chat Completions API of OpenAI,
// Azure OpenAI and OpenAI-compatible servers (LiteLLM, vLLM, llama.cpp...).
// It is safe for concurrent use. Each session holds one pooled HTTP client
// and the resolved credential; RebuildSession re-reads the configuration
// from the Source (endpoint, timeouts, credential files) and swaps in a new
// session while requests in flight finish on the old one.
//
// Streaming follows the batch: batch.Stream sends "stream": true with
// stream_options.include_usage and relays each SSE chunk; otherwise the
// runner makes a unary call and returns one chunk.
type Runner struct {
	runners.Defaults

	src      Source
	opts     Options
	runtime  runners.RuntimeKind
	provider runners.ProviderKind
	table    *httpapi.ErrorTable

	cur                   atomic.Pointer[session]
	httpapi.RateLimitSink // SetRateLimitSink
	rebuild               sync.Mutex
	inFlight              atomic.Int64
}

// session is one immutable generation of the runner's configuration.
type session struct {
	cfg        Config
	http       *httpapi.Session
	url        string
	price      httpapi.Price
	priceKnown bool
	warnOnce   sync.Once
}

// New builds a Runner from src, resolving its credential. Errors are
// *messages.Error with code bad_request (invalid configuration) or
// unauthorized (a credential that cannot be read), naming the field or the
// secret's source, never a secret.
func New(src Source, opts Options) (*Runner, error) {
	cfg, err := src()
	if err != nil {
		return nil, configError(err)
	}
	cfg = cfg.withDefaults()
	r := &Runner{src: src, opts: opts, runtime: cfg.Runtime, provider: cfg.Provider}
	r.table = errorTable(cfg.Provider)
	s, err := r.newSession(cfg)
	if err != nil {
		return nil, err
	}
	r.cur.Store(s)
	return r, nil
}

// errorTable is the classification of one provider. Azure's content filter
// (400, code content_filter, inner code ResponsibleAIPolicyViolation) and
// OpenAI's context_length_exceeded and insufficient_quota are in the
// defaults; nothing here differs yet, but each provider keeps its own table.
func errorTable(p runners.ProviderKind) *httpapi.ErrorTable {
	return httpapi.NewErrorTable(string(p), nil, nil)
}

func configError(err error) *messages.Error {
	return &messages.Error{Code: runners.CodeBadRequest, Message: "openai: configuration: " + httpapi.Sanitize(err.Error(), 1000)}
}

func (r *Runner) newSession(cfg Config) (*session, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, configError(err)
	}
	if cfg.Runtime != r.runtime || cfg.Provider != r.provider {
		return nil, configError(errString("runtime and provider cannot change on a rebuild; build a new runner"))
	}
	hc := cfg.Config
	if cfg.Runtime == runners.RuntimeAzureOpenAI && cfg.Auth == AzureAuthEntra {
		hc.APIKey = cfg.Token
	}
	hs, err := httpapi.NewSession(hc, httpapi.SessionOptions{
		Table:       r.table,
		Clock:       r.opts.Clock,
		OnRateLimit: r.Report,
		Jitter:      r.opts.Jitter,
		DialContext: r.opts.DialContext,
		TLSConfig:   r.opts.TLSConfig,
	})
	if err != nil {
		return nil, &messages.Error{Code: runners.CodeUnauthorized, Provider: string(cfg.Provider),
			Message: string(cfg.Provider) + ": session: " + httpapi.Sanitize(err.Error(), 1000)}
	}
	// Carry httpapi's defaults back (DefaultMaxTokens, MaxSSELine, timeouts).
	applied := hs.Config()
	cfg.Timeouts, cfg.Retry = applied.Timeouts, applied.Retry
	cfg.DefaultMaxTokens, cfg.MaxSSELine = applied.DefaultMaxTokens, applied.MaxSSELine
	s := &session{cfg: cfg, http: hs, url: chatURL(&cfg)}
	s.price, s.priceKnown = cfg.Config.Price()
	return s, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// chatURL is the Chat Completions URL: {endpoint}/chat/completions, or for
// Azure {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...
func chatURL(cfg *Config) string {
	base := strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Runtime == runners.RuntimeAzureOpenAI {
		return base + "/openai/deployments/" + url.PathEscape(cfg.AzureDeployment) +
			"/chat/completions?api-version=" + url.QueryEscape(cfg.APIVersion)
	}
	return base + "/chat/completions"
}

// RuntimeKind returns openai, azure-openai or litellm.
func (r *Runner) RuntimeKind() runners.RuntimeKind { return r.runtime }

// TransportKind returns RemoteNetwork with the configured provider label.
func (r *Runner) TransportKind() runners.TransportKind { return runners.TransportRemote(r.provider) }

// RateLimits returns the configured limits, or nil when none is set.
func (r *Runner) RateLimits() *runners.RateLimits {
	cfg := r.cur.Load().cfg
	return cfg.RateLimitsOrNil()
}

// EstimateCostUSD returns the worst-case cost of batch: the estimated input
// tokens (httpapi.EstimateInputTokens) at the input price plus max_tokens
// (or Config.DefaultMaxTokens) at the output price. It returns -1 when the
// model's price is unknown and no override is configured.
func (r *Runner) EstimateCostUSD(batch *messages.ExecuteBatch) float64 {
	s := r.cur.Load()
	if !s.priceKnown {
		r.warnUnknownPrice(s)
	}
	return httpapi.EstimateCostUSD(batch, s.price, s.priceKnown, s.cfg.DefaultMaxTokens)
}

func (r *Runner) warnUnknownPrice(s *session) {
	s.warnOnce.Do(func() {
		if r.opts.Logger != nil {
			r.opts.Logger.Warn("model price unknown; costs are reported as unknown",
				"provider", string(s.cfg.Provider), "model", s.cfg.Model)
		}
	})
}

// RebuildSession re-reads the configuration from the Source, resolves the
// credential again (a rotated key file takes effect) and swaps in a new
// HTTP client. Requests in flight finish on the old client, whose idle
// connections are closed. On error the old session stays in place and the
// error (a *messages.Error) says why.
func (r *Runner) RebuildSession(ctx context.Context, cause runners.SessionRebuildCause) error {
	r.rebuild.Lock()
	defer r.rebuild.Unlock()
	if err := ctx.Err(); err != nil {
		return runners.AsError(err)
	}
	cfg, err := r.src()
	if err != nil {
		return configError(err)
	}
	s, err := r.newSession(cfg)
	if err != nil {
		return err
	}
	old := r.cur.Swap(s)
	old.http.CloseIdleConnections()
	return nil
}

// InFlight reports the requests whose streams are still being read.
func (r *Runner) InFlight() int { return int(r.inFlight.Load()) }

// Execute sends batch and returns once the provider has answered with a 2xx
// status (after any retries; see httpapi.Session.Do). Errors before that
// are returned here; errors after it arrive in-band from Recv, flagged
// AfterFirstChunk once a chunk has been delivered.
func (r *Runner) Execute(ctx context.Context, batch *messages.ExecuteBatch) (runners.RunHandle, error) {
	if err := ctx.Err(); err != nil {
		e := runners.AsError(err)
		e.RequestId = batch.GetRequestId()
		return nil, e
	}
	s := r.cur.Load()
	body, err := buildRequest(&s.cfg, batch)
	if err != nil {
		e := runners.AsError(err)
		e.RequestId = batch.GetRequestId()
		return nil, e
	}
	stream := batch.GetStream()
	pipe, pctx := runners.NewPipe(ctx, 16)
	resp, derr := s.http.Do(pctx, func(actx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(actx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r.setHeaders(s, req.Header, stream)
		return req, nil
	})
	if derr != nil {
		pipe.Close()
		e := runners.AsError(derr)
		e.RequestId = batch.GetRequestId()
		return nil, e
	}
	st := &streamState{
		r: r, s: s, pipe: pipe, resp: resp,
		requestID: batch.GetRequestId(),
		estInput:  httpapi.EstimateInputTokens(batch),
		maxTokens: int64(batch.GetSampling().GetMaxTokens()),
	}
	r.inFlight.Add(1)
	go func() {
		defer r.inFlight.Add(-1)
		defer resp.Close()
		if stream {
			st.stream()
		} else {
			st.unary()
		}
	}()
	return pipe, nil
}

func (r *Runner) setHeaders(s *session, h http.Header, stream bool) {
	h.Set("Content-Type", "application/json")
	if stream {
		h.Set("Accept", "text/event-stream")
	} else {
		h.Set("Accept", "application/json")
	}
	h.Set("User-Agent", "actorinfer")
	key := s.http.Key()
	switch {
	case s.cfg.Runtime == runners.RuntimeAzureOpenAI && s.cfg.Auth == AzureAuthAPIKey:
		h.Set("api-key", key)
	case key != "":
		h.Set("Authorization", "Bearer "+key)
	}
	if s.cfg.Organization != "" {
		h.Set("OpenAI-Organization", s.cfg.Organization)
	}
	if s.cfg.Project != "" {
		h.Set("OpenAI-Project", s.cfg.Project)
	}
}
