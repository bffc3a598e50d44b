package actors

import (
	"container/heap"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// The scopes named in rate-limit and budget errors (messages.Error.Scope).
const (
	ScopeRPM         = "rpm"
	ScopeTPM         = "tpm"
	ScopeConcurrency = "concurrency"
	ScopeHour        = "hour"
	ScopeDay         = "day"
)

// Tuning of the limiter's reaction to provider 429s.
const (
	// backoffFactor multiplies the effective rate on every 429.
	backoffFactor = 0.5
	// minRateFactor is the floor of the effective rate, as a fraction of the
	// configured rate.
	minRateFactor = 0.1
	// recoveryStep is added to the rate factor every recoveryInterval
	// without a 429, until the configured rate is reached again.
	recoveryStep     = 0.1
	recoveryInterval = 10 * time.Second
	// defaultHold is the permit hold time assumed for concurrency
	// retry-after estimates before any permit has been released.
	defaultHold = time.Second
	// minRetryAfter is the smallest retry-after a denial carries.
	minRetryAfter = time.Millisecond
)

// Permit is a granted permit request, as returned by Limiter.Advance.
type Permit struct {
	// ID is the request id given to Request.
	ID string
	// Tokens is the number of TPM tokens charged at grant.
	Tokens int64
	// Waited is how long the request waited in the queue.
	Waited time.Duration
}

// Denial is a waiting permit request that failed, as returned by
// Limiter.Advance: its deadline passed before it could be granted.
type Denial struct {
	// ID is the request id given to Request.
	ID string
	// Err is a rate_limited error naming the scope (rpm, tpm or
	// concurrency) and an estimated retry-after.
	Err *messages.Error
}

// Limiter is the synchronous core of the RateLimiterActor: a requests-per-
// minute token bucket, a tokens-per-minute token bucket (both from
// golang.org/x/time/rate) and a cap on concurrent permits, in front of a
// strictly FIFO queue of waiting requests. It has no clock and no goroutines:
// every method takes the current time, in the manner of rate.Limiter.AllowN.
//
// Bucket sizing: each bucket holds one second's worth of its rate
// (ceil(limit/60), at least 1), so that any 60 s window admits at most
// limit + ceil(limit/60); with 60 RPM a minute admits exactly 60 requests.
//
// TPM accounting: a request's tokens (estimated input plus max_tokens, as
// OpenAI counts them) are taken at grant. A request larger than the TPM
// bucket waits until the bucket is full, takes it, and carries the rest as
// debt: the bucket goes negative and later requests wait until it has
// refilled. On release, actual tokens above the granted ones are charged
// the same way; actual tokens below the granted ones are not refunded (the
// provider counts max_tokens against its own limit at admission, so a refund
// would let us overrun it).
//
// Provider 429s (Pause, Feedback) stop all grants until the retry-after and
// halve the effective rates, down to 10% of the configured ones; the rates
// then recover by 10% of the configured rate for every 10 s without a 429,
// counted from the end of the pause.
//
// Nil or zero limits mean unlimited: every request is granted at once
// (provider pauses still apply). The zero value is not usable; use
// NewLimiter. A Limiter is not safe for concurrent use; the RateLimiterActor
// owns one.
type Limiter struct {
	limits runners.RateLimits
	rpm    *rate.Limiter // nil: no RPM limit
	tpm    *rate.Limiter // nil: no TPM limit
	conc   int           // 0: no concurrency cap

	held    map[string]heldPermit
	waiting map[string]*waiter
	head    *waiter
	tail    *waiter
	dl      deadlineHeap

	pausedUntil time.Time
	pauseScope  string
	factor      float64   // effective / configured rate
	recoverFrom time.Time // next recovery step is due recoveryInterval after this

	granted   int64
	rejected  int64
	avgHold   time.Duration
	lastBlock string // the scope that last held back the head of the queue
}

type heldPermit struct {
	tokens int64
	since  time.Time
}

type waiter struct {
	id       string
	tokens   int64
	deadline time.Time // zero: none
	enqueued time.Time
	prev     *waiter
	next     *waiter
	heapIdx  int // index in Limiter.dl, -1 when not there
}

// NewLimiter returns a Limiter enforcing limits, with full buckets. Nil or
// zero limits mean unlimited.
func NewLimiter(limits *runners.RateLimits) *Limiter {
	l := &Limiter{
		held:    make(map[string]heldPermit),
		waiting: make(map[string]*waiter),
		factor:  1,
	}
	if limits != nil {
		l.limits = *limits
	}
	if l.limits.RequestsPerMinute > 0 {
		l.rpm = rate.NewLimiter(perSecond(l.limits.RequestsPerMinute), burstFor(l.limits.RequestsPerMinute))
	}
	if l.limits.TokensPerMinute > 0 {
		l.tpm = rate.NewLimiter(perSecond(l.limits.TokensPerMinute), burstFor(l.limits.TokensPerMinute))
	}
	if l.limits.ConcurrentRequests > 0 {
		l.conc = l.limits.ConcurrentRequests
	}
	return l
}

// Empty takes every token out of both buckets at now, as if a full burst
// had just been granted: the next grants come at the configured rate only.
// A limiter that replaces another one (a cluster activation after its
// owner's node died) starts empty so that it admits no burst on top of what
// the previous one granted.
func (l *Limiter) Empty(now time.Time) {
	if l.rpm != nil {
		l.rpm.AllowN(now, int(math.Floor(l.rpm.TokensAt(now))))
	}
	if l.tpm != nil {
		l.tpm.AllowN(now, int(math.Floor(l.tpm.TokensAt(now))))
	}
}

func perSecond(perMinute float64) rate.Limit { return rate.Limit(perMinute / 60) }

// burstFor returns one second's worth of a per-minute limit, at least 1.
func burstFor(perMinute float64) int {
	b := int(math.Ceil(perMinute / 60))
	if b < 1 {
		b = 1
	}
	return b
}

// Request asks for a permit for one request using tokens TPM tokens, to be
// granted before deadline (zero: no deadline). It returns granted = true
// when the permit is granted now. Otherwise, with a nil error, the request
// waits in arrival order: a later Advance grants it or denies it at its
// deadline. A non-nil error (a *messages.Error) means the request was not
// queued: its id is already pending (bad_request), or it would have to wait
// and its deadline has already passed (rate_limited with a retry-after).
func (l *Limiter) Request(now time.Time, id string, tokens int64, deadline time.Time) (granted bool, err error) {
	if tokens < 0 {
		tokens = 0
	}
	if _, ok := l.held[id]; ok {
		return false, &messages.Error{Code: runners.CodeBadRequest, RequestId: id, Message: "actors: duplicate permit request id"}
	}
	if _, ok := l.waiting[id]; ok {
		return false, &messages.Error{Code: runners.CodeBadRequest, RequestId: id, Message: "actors: duplicate permit request id"}
	}
	l.refresh(now)
	if l.head == nil {
		scope, _ := l.blocker(now, tokens)
		if scope == "" {
			l.grant(now, id, tokens)
			return true, nil
		}
		l.lastBlock = scope
	}
	if !deadline.IsZero() && !deadline.After(now) {
		k, sum := len(l.waiting)+1, tokens
		for w := l.head; w != nil; w = w.next {
			sum += w.tokens
		}
		l.rejected++
		return false, l.denialError(now, id, k, sum)
	}
	w := &waiter{id: id, tokens: tokens, deadline: deadline, enqueued: now, heapIdx: -1, prev: l.tail}
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.waiting[id] = w
	if !deadline.IsZero() {
		heap.Push(&l.dl, w)
	}
	return false, nil
}

// Release returns the concurrency slot of a granted permit and settles the
// tokens actually used: actual tokens above the granted ones are charged to
// the TPM bucket as debt; fewer are not refunded. A negative actualTokens
// means unknown and settles nothing. Release reports whether id held a
// permit; a waiting id is left alone (use Cancel). Call Advance afterwards:
// the freed slot may let waiters through.
func (l *Limiter) Release(now time.Time, id string, actualTokens int64) bool {
	p, ok := l.held[id]
	if !ok {
		return false
	}
	delete(l.held, id)
	if hold := now.Sub(p.since); hold >= 0 {
		if l.avgHold == 0 {
			l.avgHold = hold
		} else {
			l.avgHold += (hold - l.avgHold) / 8
		}
	}
	if actualTokens > p.tokens && l.tpm != nil {
		l.takeTokens(now, actualTokens-p.tokens)
	}
	return true
}

// Cancel withdraws a request: a waiting one leaves the queue, a granted one
// gives its concurrency slot back without settling tokens. It reports
// whether id was known. Call Advance afterwards.
func (l *Limiter) Cancel(id string) bool {
	if w, ok := l.waiting[id]; ok {
		l.unlink(w)
		return true
	}
	if _, ok := l.held[id]; ok {
		delete(l.held, id)
		return true
	}
	return false
}

// Advance brings the limiter to now: it first denies every waiter whose
// deadline is not after now, then grants waiters in arrival order while the
// head of the queue fits. The slices are nil when empty.
func (l *Limiter) Advance(now time.Time) (granted []Permit, expired []Denial) {
	l.refresh(now)
	if len(l.dl) > 0 && !l.dl[0].deadline.After(now) {
		k, sum := 0, int64(0)
		for w := l.head; w != nil; {
			next := w.next
			k++
			sum += w.tokens
			if !w.deadline.IsZero() && !w.deadline.After(now) {
				l.rejected++
				// k and sum still count the waiters expiring ahead of w:
				// retried together, they would queue ahead of it again.
				expired = append(expired, Denial{ID: w.id, Err: l.denialError(now, w.id, k, sum)})
				l.unlink(w)
			}
			w = next
		}
	}
	for l.head != nil {
		w := l.head
		if scope, _ := l.blocker(now, w.tokens); scope != "" {
			l.lastBlock = scope
			break
		}
		l.unlink(w)
		l.grant(now, w.id, w.tokens)
		granted = append(granted, Permit{ID: w.id, Tokens: w.tokens, Waited: now.Sub(w.enqueued)})
	}
	return granted, expired
}

// NextWake returns when Advance should next be called if nothing else
// happens: the earliest of the time the head of the queue fits the buckets,
// the end of a pause, the next rate recovery step that could let the head
// through, and the earliest waiter deadline. It returns the zero time when
// no time-based event is pending (nothing waits, or the head waits only for
// a concurrency slot and has no deadline). A returned time not after now
// means Advance is due now.
func (l *Limiter) NextWake(now time.Time) time.Time {
	var t time.Time
	if l.head != nil {
		l.refresh(now)
		scope, wait := l.blocker(now, l.head.tokens)
		switch {
		case scope == "":
			return now
		case wait > 0:
			t = now.Add(wait)
			if l.factor < 1 && !now.Before(l.pausedUntil) {
				if r := l.recoverFrom.Add(recoveryInterval); r.Before(t) {
					t = r
				}
			}
		}
	}
	if len(l.dl) > 0 {
		if d := l.dl[0].deadline; t.IsZero() || d.Before(t) {
			t = d
		}
	}
	return t
}

// Pause reacts to a provider 429: no permit is granted until now+retryAfter,
// and the effective rates are halved (not below 10% of the configured ones),
// recovering gradually once the pause is over.
func (l *Limiter) Pause(now time.Time, retryAfter time.Duration) {
	l.refresh(now)
	l.pauseUntil(now.Add(retryAfter), ScopeRPM)
	l.factor = math.Max(minRateFactor, l.factor*backoffFactor)
	l.recoverFrom = now
	if l.pausedUntil.After(now) {
		l.recoverFrom = l.pausedUntil
	}
	l.applyRates(now)
}

// Feedback applies what a provider said about its limits: a retry-after
// (from a 429) calls Pause; remaining requests or tokens of 0 with a reset
// time pause grants until the reset, without lowering the rate. A 429
// without Retry-After should be reported with a default retry-after (the
// deployment's initial backoff), as a zero one is read as "no 429".
func (l *Limiter) Feedback(now time.Time, fb *messages.RateLimitFeedback) {
	if fb == nil {
		return
	}
	if ms := fb.GetRetryAfterMs(); ms > 0 {
		l.Pause(now, time.Duration(ms)*time.Millisecond)
	}
	if fb.GetRemainingRequests() == 0 && fb.GetRequestsResetMs() > 0 {
		l.pauseUntil(now.Add(time.Duration(fb.GetRequestsResetMs())*time.Millisecond), ScopeRPM)
	}
	if fb.GetRemainingTokens() == 0 && fb.GetTokensResetMs() > 0 {
		l.pauseUntil(now.Add(time.Duration(fb.GetTokensResetMs())*time.Millisecond), ScopeTPM)
	}
}

// Waiting returns the number of queued requests.
func (l *Limiter) Waiting() int { return len(l.waiting) }

// InUse returns the number of granted permits not yet released.
func (l *Limiter) InUse() int { return len(l.held) }

// State returns the limiter's state at now for state queries.
func (l *Limiter) State(now time.Time) *messages.LimiterState {
	l.refresh(now)
	s := &messages.LimiterState{
		RequestsPerMinute: l.limits.RequestsPerMinute,
		TokensPerMinute:   l.limits.TokensPerMinute,
		ConcurrentLimit:   int64(l.conc),
		InUse:             int64(len(l.held)),
		Waiting:           int64(len(l.waiting)),
		GrantedTotal:      l.granted,
		RejectedTotal:     l.rejected,
	}
	if l.rpm != nil {
		s.EffectiveRpm = l.limits.RequestsPerMinute * l.factor
		s.RpmAvailable = l.rpm.TokensAt(now)
	}
	if l.tpm != nil {
		s.EffectiveTpm = l.limits.TokensPerMinute * l.factor
		s.TpmAvailable = l.tpm.TokensAt(now)
	}
	if l.pausedUntil.After(now) {
		s.PausedUntilUnixNano = l.pausedUntil.UnixNano()
	}
	return s
}

// Blocker returns the scope that holds back the head of the queue at now
// (rpm, tpm, concurrency, or the scope of a provider pause), or "" when
// nothing waits or the head fits.
func (l *Limiter) Blocker(now time.Time) string {
	if l.head == nil {
		return ""
	}
	l.refresh(now)
	scope, _ := l.blocker(now, l.head.tokens)
	return scope
}

// blocker returns what holds back a request for tokens at now, and how long
// until it fits when that is a matter of time (0 for concurrency).
func (l *Limiter) blocker(now time.Time, tokens int64) (string, time.Duration) {
	if now.Before(l.pausedUntil) {
		return l.pauseScope, l.pausedUntil.Sub(now)
	}
	scope, wait := "", time.Duration(0)
	if l.rpm != nil {
		if avail := l.rpm.TokensAt(now); avail < 1 {
			scope, wait = ScopeRPM, tokenWait(1-avail, l.rpm.Limit())
		}
	}
	if l.tpm != nil {
		need := float64(min(tokens, int64(l.tpm.Burst())))
		if avail := l.tpm.TokensAt(now); avail < need {
			if w := tokenWait(need-avail, l.tpm.Limit()); w > wait {
				scope, wait = ScopeTPM, w
			}
		}
	}
	if scope != "" {
		return scope, wait
	}
	if l.conc > 0 && len(l.held) >= l.conc {
		return ScopeConcurrency, 0
	}
	return "", 0
}

// tokenWait returns how long a bucket refilling at lim takes to gain
// deficit tokens, rounded up to the nanosecond and at least 1 ns.
func tokenWait(deficit float64, lim rate.Limit) time.Duration {
	d := time.Duration(math.Ceil(deficit / float64(lim) * float64(time.Second)))
	if d < 1 {
		d = 1
	}
	return d
}

// denialError builds the rate_limited error of a request at queue position
// k (1-based) with sum tokens queued up to and including it: the scope that
// would hold it back longest and the estimated time until it would be
// granted (at least 1 ms). When nothing would hold it back any more (it
// would have been granted at its deadline), the scope is the one that last
// held back the queue.
func (l *Limiter) denialError(now time.Time, id string, k int, sum int64) *messages.Error {
	scope, est := l.lastBlock, time.Duration(0)
	if scope == "" {
		scope = ScopeConcurrency
	}
	if now.Before(l.pausedUntil) {
		scope, est = l.pauseScope, l.pausedUntil.Sub(now)
	}
	if l.rpm != nil {
		if deficit := float64(k) - l.rpm.TokensAt(now); deficit > 0 {
			if w := tokenWait(deficit, l.rpm.Limit()); w > est {
				scope, est = ScopeRPM, w
			}
		}
	}
	if l.tpm != nil {
		if deficit := float64(sum) - l.tpm.TokensAt(now); deficit > 0 {
			if w := tokenWait(deficit, l.tpm.Limit()); w > est {
				scope, est = ScopeTPM, w
			}
		}
	}
	if l.conc > 0 {
		if over := len(l.held) + k - l.conc; over > 0 {
			hold := l.avgHold
			if hold <= 0 {
				hold = defaultHold
			}
			rounds := (over + l.conc - 1) / l.conc
			if w := time.Duration(rounds) * hold; w > est {
				scope, est = ScopeConcurrency, w
			}
		}
	}
	if est < minRetryAfter {
		est = minRetryAfter
	}
	e := runners.RateLimitedError(scope, est, "no %s capacity before the deadline", scope)
	e.RequestId = id
	return e
}

func (l *Limiter) grant(now time.Time, id string, tokens int64) {
	if l.rpm != nil {
		l.rpm.AllowN(now, 1)
	}
	if l.tpm != nil && tokens > 0 {
		l.takeTokens(now, tokens)
	}
	l.held[id] = heldPermit{tokens: tokens, since: now}
	l.granted++
}

// takeTokens takes n tokens from the TPM bucket, letting it go negative
// (debt) when n exceeds what it holds.
func (l *Limiter) takeTokens(now time.Time, n int64) {
	burst := int64(l.tpm.Burst())
	for n > 0 {
		c := min(n, burst)
		l.tpm.ReserveN(now, int(c))
		n -= c
	}
}

func (l *Limiter) unlink(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	if w.heapIdx >= 0 {
		heap.Remove(&l.dl, w.heapIdx)
	}
	delete(l.waiting, w.id)
}

func (l *Limiter) pauseUntil(until time.Time, scope string) {
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
		l.pauseScope = scope
	}
}

// refresh applies the rate recovery steps due by now.
func (l *Limiter) refresh(now time.Time) {
	if l.factor >= 1 {
		return
	}
	elapsed := now.Sub(l.recoverFrom)
	if elapsed < recoveryInterval {
		return
	}
	steps := elapsed / recoveryInterval
	l.recoverFrom = l.recoverFrom.Add(steps * recoveryInterval)
	l.factor = math.Min(1, l.factor+recoveryStep*float64(steps))
	if l.factor > 1-1e-9 {
		l.factor = 1
	}
	l.applyRates(now)
}

// applyRates sets the buckets' rates and sizes to the effective rates.
func (l *Limiter) applyRates(now time.Time) {
	if l.rpm != nil {
		eff := l.limits.RequestsPerMinute * l.factor
		l.rpm.SetLimitAt(now, perSecond(eff))
		l.rpm.SetBurstAt(now, burstFor(eff))
	}
	if l.tpm != nil {
		eff := l.limits.TokensPerMinute * l.factor
		l.tpm.SetLimitAt(now, perSecond(eff))
		l.tpm.SetBurstAt(now, burstFor(eff))
	}
}

// deadlineHeap orders waiters by deadline (container/heap).
type deadlineHeap []*waiter

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *deadlineHeap) Push(x any) {
	w := x.(*waiter)
	w.heapIdx = len(*h)
	*h = append(*h, w)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.heapIdx = -1
	return w
}
