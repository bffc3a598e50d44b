package actors

import (
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Breaker defaults, used for zero BreakerConfig fields.
const (
	DefaultFailureThreshold = 10
	DefaultOpenDuration     = 30 * time.Second
	DefaultHalfOpenProbes   = 1
	// maxOpenFactor caps the re-open backoff at this multiple of the open
	// duration when MaxOpenDuration is zero.
	maxOpenFactor = 10
	// probeBusyRetry is the retry-after given while every half-open probe
	// is in flight.
	probeBusyRetry = time.Second
)

// BreakerConfig configures a Breaker. The zero value means the defaults:
// 10 consecutive failures open the breaker for 30 s, one probe at a time
// when half-open, re-opening for at most 10 × 30 s.
type BreakerConfig struct {
	// FailureThreshold is the number of consecutive counted failures that
	// open the breaker. Zero means 10.
	FailureThreshold int
	// OpenDuration is how long the breaker stays open after tripping,
	// before it lets probes through. Zero means 30 s.
	OpenDuration time.Duration
	// HalfOpenProbes is the number of probes let through at a time while
	// half-open. Zero means 1.
	HalfOpenProbes int
	// MaxOpenDuration caps the open time, which doubles with every failed
	// probe. Zero means 10 × OpenDuration.
	MaxOpenDuration time.Duration
}

func (c BreakerConfig) withDefaults() BreakerConfig {
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.OpenDuration <= 0 {
		c.OpenDuration = DefaultOpenDuration
	}
	if c.HalfOpenProbes <= 0 {
		c.HalfOpenProbes = DefaultHalfOpenProbes
	}
	if c.MaxOpenDuration <= 0 {
		c.MaxOpenDuration = maxOpenFactor * c.OpenDuration
	}
	if c.MaxOpenDuration < c.OpenDuration {
		c.MaxOpenDuration = c.OpenDuration
	}
	return c
}

type breakerPhase int

const (
	breakerClosed breakerPhase = iota
	breakerOpen
	breakerHalfOpen
)

func (p breakerPhase) String() string {
	switch p {
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half_open"
	}
	return "closed"
}

// Breaker is a circuit breaker for one (provider, endpoint): closed, open
// or half-open, with time passed in.
//
// Closed, it admits everything; FailureThreshold consecutive counted
// failures open it. Only failures that runners.Classify marks Breaker
// count (server errors, timeouts, network errors) — not 429s, caller
// errors, content filters or admission rejections; a success resets the
// count, other errors leave it alone. Open, it admits nothing for its open
// time; then it is half-open and admits up to HalfOpenProbes probes at a
// time. A probe's success closes it and resets the open time to
// OpenDuration; a probe's counted failure re-opens it with the open time
// doubled, capped at MaxOpenDuration; a probe's other error only frees its
// slot.
//
// Every request admitted by Allow must be reported exactly once, with
// Record, or with CancelProbe when a probe ends without a verdict (the
// caller went away), or half-open probe slots leak. Results of requests
// admitted before the breaker opened are ignored while it is open or
// half-open.
//
// The zero value is not usable; use NewBreaker. A Breaker is not safe for
// concurrent use; the DeploymentActor owns one.
type Breaker struct {
	cfg         BreakerConfig
	phase       breakerPhase
	consecutive int
	openUntil   time.Time
	openFor     time.Duration // the open time of the current or next trip by a probe
	probes      int
	lastProbe   bool
	trips       int64
}

// NewBreaker returns a closed Breaker; zero fields of cfg take their
// defaults.
func NewBreaker(cfg BreakerConfig) *Breaker {
	cfg = cfg.withDefaults()
	return &Breaker{cfg: cfg, openFor: cfg.OpenDuration}
}

// Allow reports whether a request may go to the endpoint at now; when not,
// retryAfter says when to try again (the end of the open time, or 1 s while
// every half-open probe is in flight). Probing reports whether the admitted
// request is a half-open probe.
func (b *Breaker) Allow(now time.Time) (ok bool, retryAfter time.Duration) {
	b.tick(now)
	b.lastProbe = false
	switch b.phase {
	case breakerOpen:
		return false, b.openUntil.Sub(now)
	case breakerHalfOpen:
		if b.probes >= b.cfg.HalfOpenProbes {
			return false, probeBusyRetry
		}
		b.probes++
		b.lastProbe = true
	}
	return true, 0
}

// Probing reports whether the request admitted by the last Allow is a
// half-open probe; its result must be recorded with probe = true.
func (b *Breaker) Probing() bool { return b.lastProbe }

// Record reports the outcome of an admitted request: err nil for a
// success, probe as returned by Probing at admission.
func (b *Breaker) Record(now time.Time, err error, probe bool) {
	b.tick(now)
	counted := err != nil && runners.Classify(err).Breaker
	if probe && b.phase == breakerHalfOpen {
		b.probes = max(0, b.probes-1)
		switch {
		case err == nil:
			b.phase = breakerClosed
			b.consecutive = 0
			b.openFor = b.cfg.OpenDuration
		case counted:
			b.openFor = min(2*b.openFor, b.cfg.MaxOpenDuration)
			b.trip(now, b.openFor)
		}
		return
	}
	if b.phase != breakerClosed {
		return
	}
	switch {
	case err == nil:
		b.consecutive = 0
	case counted:
		b.consecutive++
		if b.consecutive >= b.cfg.FailureThreshold {
			b.openFor = b.cfg.OpenDuration
			b.trip(now, b.openFor)
		}
	}
}

// CancelProbe frees the slot of a half-open probe that ended without a
// verdict.
func (b *Breaker) CancelProbe() {
	if b.phase == breakerHalfOpen && b.probes > 0 {
		b.probes--
	}
}

// ForceOpen opens the breaker for d from now, whatever its state; it
// half-opens afterwards as usual.
func (b *Breaker) ForceOpen(now time.Time, d time.Duration) {
	b.trip(now, d)
}

// State returns the breaker's state at now for state queries.
func (b *Breaker) State(now time.Time) *messages.BreakerState {
	b.tick(now)
	s := &messages.BreakerState{
		State:               b.phase.String(),
		ConsecutiveFailures: int64(b.consecutive),
		Trips:               b.trips,
		ProbesInFlight:      int64(b.probes),
	}
	if b.phase == breakerOpen {
		s.OpenUntilUnixNano = b.openUntil.UnixNano()
	}
	return s
}

func (b *Breaker) trip(now time.Time, d time.Duration) {
	b.phase = breakerOpen
	b.openUntil = now.Add(d)
	b.consecutive = 0
	b.probes = 0
	b.trips++
}

// tick half-opens an open breaker whose open time is over.
func (b *Breaker) tick(now time.Time) {
	if b.phase == breakerOpen && !now.Before(b.openUntil) {
		b.phase = breakerHalfOpen
		b.probes = 0
	}
}
