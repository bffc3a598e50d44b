package actors

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// ScopePrice names a budget denial of a request whose cost is unknown.
const ScopePrice = "price"

// OnExceeded says what a Budget does with a request that would take spend
// over a cap. The zero value is OnExceededReject.
type OnExceeded int

// The budget policies.
const (
	// OnExceededReject rejects the request with budget_exceeded, naming the
	// scope (hour or day) and when it resets.
	OnExceededReject OnExceeded = iota
	// OnExceededWarn admits the request and reports it as warned.
	OnExceededWarn
	// OnExceededThrottle rejects the request like OnExceededReject and asks
	// the deployment to halve its concurrency until the window resets.
	OnExceededThrottle
)

// String returns the policy as the config file spells it.
func (o OnExceeded) String() string {
	switch o {
	case OnExceededReject:
		return "reject"
	case OnExceededWarn:
		return "warn"
	case OnExceededThrottle:
		return "throttle"
	}
	return fmt.Sprintf("OnExceeded(%d)", int(o))
}

// ParseOnExceeded parses "reject", "warn" or "throttle"; "" is reject.
func ParseOnExceeded(s string) (OnExceeded, error) {
	switch s {
	case "", "reject":
		return OnExceededReject, nil
	case "warn":
		return OnExceededWarn, nil
	case "throttle":
		return OnExceededThrottle, nil
	}
	return 0, fmt.Errorf("actors: on_exceeded %q is not reject, warn or throttle", s)
}

// UnknownPrice says what a Budget does with a request whose cost is
// unknown (a negative amount: the model has no price). The zero value is
// UnknownPriceDeny.
type UnknownPrice int

// The unknown-price policies.
const (
	// UnknownPriceDeny rejects the request with budget_exceeded, scope price.
	UnknownPriceDeny UnknownPrice = iota
	// UnknownPriceEstimate reserves BudgetConfig.UnknownPriceUSD for it.
	UnknownPriceEstimate
)

// ThrottleFactor is the concurrency factor a throttling budget asks its
// deployment for.
const ThrottleFactor = 0.5

// BudgetConfig configures a Budget. The zero value means no caps: every
// request is admitted.
type BudgetConfig struct {
	// MaxSpendPerHour caps the USD spent per UTC clock hour; 0 means none.
	MaxSpendPerHour float64
	// MaxSpendPerDay caps the USD spent per UTC day; 0 means none.
	MaxSpendPerDay float64
	// OnExceeded is the policy over a cap.
	OnExceeded OnExceeded
	// UnknownPrice is the policy for requests of unknown cost; it matters
	// only when a cap is set.
	UnknownPrice UnknownPrice
	// UnknownPriceUSD is the amount reserved (and charged, unless settled
	// with a known cost) for a request of unknown cost under
	// UnknownPriceEstimate.
	UnknownPriceUSD float64
}

// Enabled reports whether a cap is set; a deployment without one needs no
// BudgetActor.
func (c BudgetConfig) Enabled() bool { return c.MaxSpendPerHour > 0 || c.MaxSpendPerDay > 0 }

// Validate refuses negative or non-finite caps, an unknown policy, and the
// estimate policy without a positive price.
func (c BudgetConfig) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"max_spend_per_hour", c.MaxSpendPerHour}, {"max_spend_per_day", c.MaxSpendPerDay}, {"unknown price", c.UnknownPriceUSD}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("actors: budget %s = %v, want a finite amount >= 0", f.name, f.v))
		}
	}
	if c.OnExceeded < OnExceededReject || c.OnExceeded > OnExceededThrottle {
		errs = append(errs, fmt.Errorf("actors: budget on_exceeded = %v, want reject, warn or throttle", c.OnExceeded))
	}
	switch c.UnknownPrice {
	case UnknownPriceDeny:
	case UnknownPriceEstimate:
		if !(c.UnknownPriceUSD > 0) {
			errs = append(errs, errors.New("actors: budget unknown price policy estimate needs an amount > 0"))
		}
	default:
		errs = append(errs, fmt.Errorf("actors: budget unknown price policy = %d, want deny or estimate", int(c.UnknownPrice)))
	}
	return errors.Join(errs...)
}

// Admission is the answer of Budget.Reserve.
type Admission struct {
	// Err is nil when the request is admitted; otherwise a budget_exceeded
	// error naming the scope (hour, day or price) and, for hour and day,
	// when it resets (ResetsAtUnixNano, RetryAfterMs).
	Err *messages.Error
	// ReservedUSD is the amount reserved for an admitted request.
	ReservedUSD float64
	// Warned is true when the request was admitted over a cap under
	// OnExceededWarn; Scope names the cap.
	Warned bool
	// Scope names the cap a warned or rejected request went over.
	Scope string
	// ThrottleUntil is set when the request was rejected under
	// OnExceededThrottle: the deployment should run at ThrottleFactor of
	// its concurrency until then (the reset of the window that tripped).
	ThrottleUntil time.Time
}

// OK reports whether the request was admitted.
func (a Admission) OK() bool { return a.Err == nil }

// nanoUSD is an amount in billionths of a dollar; integer arithmetic keeps
// the cap check exact however many reservations come and go.
type nanoUSD int64

func toNano(usd float64) nanoUSD { return nanoUSD(math.Round(usd * 1e9)) }
func (n nanoUSD) usd() float64   { return float64(n) / 1e9 }

// Budget is the synchronous core of the BudgetActor: spending caps per UTC
// hour and per UTC day, enforced at admission by reserving each request's
// worst-case cost, with time passed in.
//
// Admission rule: a request of amount a is over a cap when
// spent(window) + reserved + a > cap, where reserved counts every
// outstanding reservation. Settle moves a reservation into the current
// window's spend at its actual cost (the window in which it settles, even if
// it was reserved in the previous one); Release drops it. As long as actual
// costs do not exceed their reservations, settled spend in a window never
// exceeds the cap, under any interleaving: the invariant spent + reserved
// <= cap holds after every admission, survives every settle and release,
// and holds at the start of a window because reserved <= previous cap. A
// request that costs more than its reservation overshoots by its excess, so
// the overshoot is bounded by the estimation error of the requests in
// flight (one reservation's error, when one is in flight). Requests of zero
// cost are never blocked and reserve nothing.
//
// Over a cap, OnExceededReject rejects, OnExceededWarn admits and warns,
// OnExceededThrottle rejects and engages the throttle until the window
// resets. A request of unknown cost (negative amount) is denied or reserved
// at BudgetConfig.UnknownPriceUSD, as UnknownPrice says, when a cap is
// set; without caps every request is admitted.
//
// The zero value is not usable; use NewBudget. A Budget is not safe for
// concurrent use; the BudgetActor owns one.
type Budget struct {
	cfg     BudgetConfig
	capHour nanoUSD
	capDay  nanoUSD

	hourStart time.Time
	dayStart  time.Time
	spentHour nanoUSD
	spentDay  nanoUSD
	reserved  nanoUSD
	res       map[string]nanoUSD

	throttledUntil time.Time
	rejected       int64
	warned         int64
}

// NewBudget returns a Budget enforcing cfg; cfg should have passed
// Validate.
func NewBudget(cfg BudgetConfig) *Budget {
	return &Budget{cfg: cfg, capHour: toNano(cfg.MaxSpendPerHour), capDay: toNano(cfg.MaxSpendPerDay),
		res: make(map[string]nanoUSD)}
}

// Reserve admits or rejects a request of worst-case cost usd (0: free, never
// blocked; negative: unknown) under id, reserving the cost when admitted.
// A duplicate id is rejected with bad_request.
func (b *Budget) Reserve(now time.Time, id string, usd float64) Admission {
	b.roll(now)
	if _, dup := b.res[id]; dup {
		return Admission{Err: &messages.Error{Code: runners.CodeBadRequest, RequestId: id,
			Message: "actors: duplicate budget reservation id"}}
	}
	if math.IsNaN(usd) {
		usd = -1
	}
	if usd == 0 || (usd < 0 && !b.cfg.Enabled()) {
		return Admission{}
	}
	if usd < 0 {
		if b.cfg.UnknownPrice != UnknownPriceEstimate {
			b.rejected++
			return Admission{Scope: ScopePrice, Err: &messages.Error{Code: runners.CodeBudgetExceeded, Scope: ScopePrice,
				RequestId: id, Message: "the cost of this model is unknown and the budget denies unpriced requests"}}
		}
		usd = b.cfg.UnknownPriceUSD
	}
	amt := toNano(usd)
	if scope, reset := b.over(amt); scope != "" {
		switch b.cfg.OnExceeded {
		case OnExceededWarn:
			b.warned++
			b.reserve(id, amt)
			return Admission{ReservedUSD: amt.usd(), Warned: true, Scope: scope}
		case OnExceededThrottle:
			if reset.After(b.throttledUntil) {
				b.throttledUntil = reset
			}
			b.rejected++
			return Admission{Scope: scope, Err: b.exceeded(now, id, scope, reset), ThrottleUntil: b.throttledUntil}
		default:
			b.rejected++
			return Admission{Scope: scope, Err: b.exceeded(now, id, scope, reset)}
		}
	}
	b.reserve(id, amt)
	return Admission{ReservedUSD: amt.usd()}
}

// Check reports the error Reserve would return now for a request of
// worst-case cost usd, without reserving anything: nil when it would be
// admitted (warned admissions included). Routers use it to downgrade before
// they spend a rate-limit permit.
func (b *Budget) Check(now time.Time, usd float64) *messages.Error {
	b.roll(now)
	if math.IsNaN(usd) {
		usd = -1
	}
	if usd == 0 || (usd < 0 && !b.cfg.Enabled()) {
		return nil
	}
	if usd < 0 {
		if b.cfg.UnknownPrice != UnknownPriceEstimate {
			return &messages.Error{Code: runners.CodeBudgetExceeded, Scope: ScopePrice,
				Message: "the cost of this model is unknown and the budget denies unpriced requests"}
		}
		usd = b.cfg.UnknownPriceUSD
	}
	if scope, reset := b.over(toNano(usd)); scope != "" && b.cfg.OnExceeded != OnExceededWarn {
		return b.exceeded(now, "", scope, reset)
	}
	return nil
}

// Settle ends the reservation of id and charges actualUSD to the current
// windows; a negative actualUSD (cost unknown) charges the reservation. An
// id without a reservation (a free request) is charged actualUSD when it
// is positive.
func (b *Budget) Settle(now time.Time, id string, actualUSD float64) {
	b.roll(now)
	amt, ok := b.res[id]
	if ok {
		b.unreserve(id, amt)
	}
	charge := toNano(actualUSD)
	if actualUSD < 0 || math.IsNaN(actualUSD) {
		charge = 0
		if ok {
			charge = amt
		}
	}
	b.spentHour += charge
	b.spentDay += charge
}

// Release ends the reservation of id without charging it (the request
// failed before it cost anything). It reports whether id had one.
func (b *Budget) Release(now time.Time, id string) bool {
	b.roll(now)
	amt, ok := b.res[id]
	if ok {
		b.unreserve(id, amt)
	}
	return ok
}

// Throttled reports whether the throttle is engaged at now, and until when.
func (b *Budget) Throttled(now time.Time) (until time.Time, ok bool) {
	b.roll(now)
	if b.throttledUntil.After(now) {
		return b.throttledUntil, true
	}
	return time.Time{}, false
}

// State returns the budget's state at now for state queries.
func (b *Budget) State(now time.Time) *messages.BudgetState {
	b.roll(now)
	_, throttled := b.Throttled(now)
	return &messages.BudgetState{
		SpentHourUsd:         b.spentHour.usd(),
		SpentDayUsd:          b.spentDay.usd(),
		ReservedUsd:          b.reserved.usd(),
		CapHourUsd:           b.cfg.MaxSpendPerHour,
		CapDayUsd:            b.cfg.MaxSpendPerDay,
		HourResetsAtUnixNano: b.hourStart.Add(time.Hour).UnixNano(),
		DayResetsAtUnixNano:  b.dayStart.AddDate(0, 0, 1).UnixNano(),
		OnExceeded:           b.cfg.OnExceeded.String(),
		Throttled:            throttled,
		RejectedTotal:        b.rejected,
	}
}

// Restore raises the spend of the current windows to what snapshot (the
// State of a previous owner of this budget) recorded for the same windows,
// counting the snapshot's outstanding reservations as spent: they may have
// settled after it was taken. A snapshot of other windows is ignored; spend
// already recorded here is never lowered.
func (b *Budget) Restore(now time.Time, snapshot *messages.BudgetState) {
	if snapshot == nil {
		return
	}
	b.roll(now)
	carried := toNano(snapshot.GetReservedUsd())
	if snapshot.GetHourResetsAtUnixNano() == b.hourStart.Add(time.Hour).UnixNano() {
		b.spentHour = max(b.spentHour, toNano(snapshot.GetSpentHourUsd())+carried)
	}
	if snapshot.GetDayResetsAtUnixNano() == b.dayStart.AddDate(0, 0, 1).UnixNano() {
		b.spentDay = max(b.spentDay, toNano(snapshot.GetSpentDayUsd())+carried)
	}
}

// Warned returns the number of requests admitted over a cap.
func (b *Budget) Warned() int64 { return b.warned }

// over returns the cap amt would go over, day before hour (the day's reset
// is the later one), and when that cap's window resets.
func (b *Budget) over(amt nanoUSD) (scope string, reset time.Time) {
	if b.capDay > 0 && b.spentDay+b.reserved+amt > b.capDay {
		return ScopeDay, b.dayStart.AddDate(0, 0, 1)
	}
	if b.capHour > 0 && b.spentHour+b.reserved+amt > b.capHour {
		return ScopeHour, b.hourStart.Add(time.Hour)
	}
	return "", time.Time{}
}

func (b *Budget) exceeded(now time.Time, id, scope string, reset time.Time) *messages.Error {
	limit, spent := b.cfg.MaxSpendPerHour, b.spentHour
	if scope == ScopeDay {
		limit, spent = b.cfg.MaxSpendPerDay, b.spentDay
	}
	retry := reset.Sub(now)
	ms := retry.Milliseconds()
	if time.Duration(ms)*time.Millisecond < retry {
		ms++
	}
	return &messages.Error{Code: runners.CodeBudgetExceeded, Scope: scope, RequestId: id,
		ResetsAtUnixNano: reset.UnixNano(), RetryAfterMs: ms,
		Message: fmt.Sprintf("spend cap of $%.2f per %s reached ($%.4f spent, $%.4f reserved)", limit, scope, spent.usd(), b.reserved.usd())}
}

func (b *Budget) reserve(id string, amt nanoUSD) {
	b.res[id] = amt
	b.reserved += amt
}

func (b *Budget) unreserve(id string, amt nanoUSD) {
	delete(b.res, id)
	b.reserved -= amt
}

// roll starts new UTC hour and day windows when now has left the current
// ones.
func (b *Budget) roll(now time.Time) {
	u := now.UTC()
	if h := u.Truncate(time.Hour); h.After(b.hourStart) {
		b.hourStart = h
		b.spentHour = 0
	}
	if d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC); d.After(b.dayStart) {
		b.dayStart = d
		b.spentDay = 0
	}
}
