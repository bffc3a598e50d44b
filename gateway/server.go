package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configures a Server. The zero value is valid: no auth, a 16 MiB
// body limit, no request timeout, a private metrics registry, the system
// clock and random ids.
type Options struct {
	// APIKeys, when non-empty, are the Bearer tokens accepted on /v1/* and
	// /admin/*. They are compared in constant time and never logged.
	APIKeys []string
	// MaxBodyBytes limits a request body (413 beyond it); 0 means 16 MiB.
	MaxBodyBytes int64
	// Logger receives one record per failed request; nil discards.
	Logger *slog.Logger
	// Registry receives the gateway's metrics and is served on /metrics;
	// nil means a private registry.
	Registry *prometheus.Registry
	// Now is the clock for "created" timestamps and reset times; nil means
	// the system clock. Latency metrics always use the monotonic clock.
	Now func() time.Time
	// NewID returns a fresh id for completions and, when the client sent
	// none, x-request-id; nil means random. It must be safe for concurrent use.
	NewID func() string
	// RequestTimeout bounds a chat completion, stream included (504 before
	// the first chunk); 0 means no limit beyond the client's.
	RequestTimeout time.Duration
	// KnownDeployments are the names metric labels may carry (deployment
	// and model labels); anything else is counted as "other". nil means the
	// names Backend.Models returns when New is called.
	KnownDeployments []string
	// StateTimeout bounds the backend state queries behind /readyz, the
	// admin routes and each metrics scrape; 0 means 5s.
	StateTimeout time.Duration
}

// Defaults applied by New.
const (
	DefaultMaxBodyBytes = 16 << 20
	DefaultStateTimeout = 5 * time.Second
)

// Validate reports the first impossible option.
func (o *Options) Validate() error {
	if o.MaxBodyBytes < 0 {
		return errors.New("gateway: MaxBodyBytes must not be negative")
	}
	if o.RequestTimeout < 0 {
		return errors.New("gateway: RequestTimeout must not be negative")
	}
	if o.StateTimeout < 0 {
		return errors.New("gateway: StateTimeout must not be negative")
	}
	for i, k := range o.APIKeys {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("gateway: APIKeys[%d] is empty", i)
		}
	}
	return nil
}

// Server is the HTTP gateway. It implements http.Handler and is safe for
// concurrent use. Create it with New.
type Server struct {
	backend        Backend
	log            *slog.Logger
	now            func() time.Time
	newID          func() string
	maxBody        int64
	requestTimeout time.Duration
	stateTimeout   time.Duration
	keys           [][sha256.Size]byte
	known          map[string]struct{}
	metrics        *metrics
	metricsHandler http.Handler
	drain          drainTracker
	bufs           sync.Pool // *[]byte
}

// New returns a Server over backend. It calls backend.Models once when
// opts.KnownDeployments is nil, and registers its metrics in opts.Registry.
// It panics when opts fails Validate or the registry refuses the metrics
// (a programming error in the composition root).
func New(opts Options, backend Backend) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	s := &Server{
		backend:        backend,
		log:            opts.Logger,
		now:            opts.Now,
		newID:          opts.NewID,
		maxBody:        opts.MaxBodyBytes,
		requestTimeout: opts.RequestTimeout,
		stateTimeout:   opts.StateTimeout,
		known:          map[string]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = newAnchoredClock().Now
	}
	if s.newID == nil {
		s.newID = randomID
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.stateTimeout == 0 {
		s.stateTimeout = DefaultStateTimeout
	}
	for _, k := range opts.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	names := opts.KnownDeployments
	if names == nil {
		for _, m := range backend.Models() {
			names = append(names, m.ID)
		}
	}
	for _, n := range names {
		s.known[n] = struct{}{}
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics()
	reg.MustRegister(s.metrics.collectors()...)
	reg.MustRegister(newStateCollector(s))
	s.metricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return s
}

// randomID returns 24 random hex digits (not a secret: ids need only be
// unique).
func randomID() string {
	var b [24]byte
	x, y := rand.Uint64(), rand.Uint64()
	for i := 0; i < 16; i++ {
		b[i] = hexDigits[x&0xf]
		x >>= 4
	}
	for i := 16; i < 24; i++ {
		b[i] = hexDigits[y&0xf]
		y >>= 4
	}
	return string(b[:])
}

// label bounds a deployment or model name for metric labels.
func (s *Server) label(name string) string {
	if name == "" {
		return "none"
	}
	if _, ok := s.known[name]; ok {
		return name
	}
	return "other"
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := r.Header.Get("X-Request-Id")
	if !saneRequestID(reqID) {
		reqID = s.newID()
	}
	w.Header().Set("X-Request-Id", reqID)

	path := r.URL.Path
	switch {
	case path == "/v1/chat/completions":
		if s.authorized(w, r) && allowMethod(w, r, http.MethodPost) {
			s.chat(w, r, reqID)
		}
	case path == "/v1/models":
		if s.authorized(w, r) && allowMethod(w, r, http.MethodGet) {
			s.models(w)
		}
	case strings.HasPrefix(path, "/v1/models/"):
		if s.authorized(w, r) && allowMethod(w, r, http.MethodGet) {
			s.model(w, strings.TrimPrefix(path, "/v1/models/"))
		}
	case path == "/healthz":
		if allowMethod(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
		}
	case path == "/readyz":
		if allowMethod(w, r, http.MethodGet) {
			s.ready(w, r)
		}
	case path == "/metrics":
		if allowMethod(w, r, http.MethodGet) {
			s.metricsHandler.ServeHTTP(w, r)
		}
	case path == "/admin/deployments" || strings.HasPrefix(path, "/admin/deployments/"):
		if s.authorized(w, r) {
			s.admin(w, r, strings.TrimPrefix(path, "/admin/deployments"))
		}
	default:
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, code: "unknown_url",
			message: "unknown URL " + strconv.Quote(r.Method+" "+path)})
	}
}

// saneRequestID accepts a client's x-request-id when it is short and made
// of URL-safe characters, so it is safe to echo, log and pass on.
func saneRequestID(id string) bool { return saneName(id, 128) }

func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: typeInvalidRequest,
		code: "method_not_allowed", message: "use " + method + " on " + r.URL.Path})
	return false
}

// authorized checks the Bearer token when keys are configured, in constant
// time over every key, and writes the 401 itself.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if len(s.keys) == 0 {
		return true
	}
	auth := r.Header.Get("Authorization")
	// The scheme is case-insensitive (RFC 9110 §11.1).
	if len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
		token := auth[7:]
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		match := 0
		for i := range s.keys {
			match |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
		}
		if match == 1 {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="actorinfer"`)
	writeError(w, &apiError{status: http.StatusUnauthorized, typ: typeAuthentication,
		code: "invalid_api_key", message: "missing or invalid API key"})
	return false
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody reads the request body into a pooled buffer, enforcing the body
// limit. The caller returns the buffer with putBuf.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (*[]byte, *apiError) {
	if r.ContentLength > s.maxBody {
		return nil, tooLarge(s.maxBody)
	}
	bp := s.getBuf()
	buf := (*bp)[:0]
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = buf
			s.putBuf(bp)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(s.maxBody)
			}
			return nil, &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest,
				code: "invalid_body", message: "could not read the request body"}
		}
	}
	*bp = buf
	return bp, nil
}

func tooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: typeInvalidRequest,
		code: "request_too_large", message: "request body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}
}

const maxPooledBuf = 1 << 20

func (s *Server) getBuf() *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (s *Server) putBuf(bp *[]byte) {
	if cap(*bp) > maxPooledBuf {
		return
	}
	*bp = (*bp)[:0]
	s.bufs.Put(bp)
}

// drainTracker counts in-flight completions and refuses new ones once a
// drain has begun.
type drainTracker struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{} // closed when n reaches 0 while draining
}

func (t *drainTracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.n++
	return true
}

func (t *drainTracker) leave() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

func (t *drainTracker) isDraining() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.draining
}

// Drain stops accepting chat completions (new ones get 503 with
// Retry-After, and /readyz reports 503) and waits until the in-flight ones
// have finished or ctx is done, returning ctx's error then. Call it
// alongside http.Server.Shutdown during graceful shutdown; it is safe to
// call more than once.
func (s *Server) Drain(ctx context.Context) error {
	t := &s.drain
	t.mu.Lock()
	t.draining = true
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
