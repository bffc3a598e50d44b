package actors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

// budgetEpoch is 09:26:53 UTC: the hour resets at 10:00, the day at midnight.
var budgetEpoch = epoch

// interleave runs n requests of worst case worst against b in a random
// interleaving of their reserve and settle events (each request reserves
// before it settles, at a random actual cost up to its worst case), and
// returns the total settled and the admissions.
func interleave(t *testing.T, r *rand.Rand, b *Budget, now time.Time, n int, worst float64) (settled float64, adm []Admission) {
	t.Helper()
	events := make([]int, 0, 2*n) // i: reserve i; n+i: settle i
	for i := range n {
		events = append(events, i, n+i)
	}
	r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	adm = make([]Admission, n)
	reserved := make([]bool, n)
	pendingSettle := make([]bool, n)
	settle := func(i int) {
		if !adm[i].OK() {
			return
		}
		actual := worst * r.Float64()
		b.Settle(now, fmt.Sprint(i), actual)
		settled += actual
	}
	for _, e := range events {
		if e < n {
			adm[e] = b.Reserve(now, fmt.Sprint(e), worst)
			reserved[e] = true
			if pendingSettle[e] {
				settle(e)
			}
			continue
		}
		i := e - n
		if !reserved[i] {
			pendingSettle[i] = true // its settle comes after its reserve
			continue
		}
		settle(i)
	}
	return settled, adm
}

func TestBudgetConcurrentReservations(t *testing.T) {
	for _, policy := range []OnExceeded{OnExceededReject, OnExceededThrottle} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("%v/seed%d", policy, seed), func(t *testing.T) {
				b := NewBudget(BudgetConfig{MaxSpendPerHour: 1, OnExceeded: policy})
				r := rand.New(rand.NewPCG(seed, 7))
				settled, adm := interleave(t, r, b, budgetEpoch, 100, 0.05)
				if settled > 1+0.05+1e-9 {
					t.Errorf("settled = $%.4f, want <= $1.05 (cap + one reservation)", settled)
				}
				if got := b.State(budgetEpoch).GetSpentHourUsd(); math.Abs(got-settled) > 1e-6 {
					t.Errorf("spent hour = %v, want %v", got, settled)
				}
				admitted := 0
				for _, a := range adm {
					if a.OK() {
						admitted++
						continue
					}
					if a.Err.GetCode() != runners.CodeBudgetExceeded || a.Err.GetScope() != ScopeHour ||
						a.Err.GetResetsAtUnixNano() != time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC).UnixNano() {
						t.Fatalf("reject = %v, want budget_exceeded, scope hour, resets 10:00", a.Err)
					}
				}
				if admitted < 20 {
					t.Errorf("admitted = %d, want at least 20 ($1 / $0.05)", admitted)
				}
				if got := b.State(budgetEpoch).GetReservedUsd(); got != 0 {
					t.Errorf("reserved after all settled = %v, want 0", got)
				}
			})
		}
	}
}

func TestBudgetAllInFlight(t *testing.T) {
	// 100 requests in flight at once: exactly $1 / $0.05 = 20 fit.
	b := NewBudget(BudgetConfig{MaxSpendPerHour: 1})
	admitted := 0
	for i := range 100 {
		if b.Reserve(budgetEpoch, fmt.Sprint(i), 0.05).OK() {
			admitted++
		}
	}
	if admitted != 20 {
		t.Fatalf("admitted = %d, want 20", admitted)
	}
	s := b.State(budgetEpoch)
	if s.GetReservedUsd() != 1 || s.GetRejectedTotal() != 80 {
		t.Errorf("State = %v, want $1 reserved, 80 rejected", s)
	}
}

func TestBudgetRejectNamesScopeAndReset(t *testing.T) {
	hourReset := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	dayReset := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		cfg       BudgetConfig
		spend     float64
		want      string
		wantReset time.Time
	}{
		{"hour", BudgetConfig{MaxSpendPerHour: 1, MaxSpendPerDay: 10}, 0.99, ScopeHour, hourReset},
		{"day", BudgetConfig{MaxSpendPerHour: 1, MaxSpendPerDay: 0.5}, 0.49, ScopeDay, dayReset},
		{"day only", BudgetConfig{MaxSpendPerDay: 2}, 1.99, ScopeDay, dayReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(tt.cfg)
			b.Reserve(budgetEpoch, "spend", tt.spend)
			b.Settle(budgetEpoch, "spend", tt.spend)
			a := b.Reserve(budgetEpoch, "x", 0.02)
			if a.OK() || a.Err.GetScope() != tt.want || a.Scope != tt.want {
				t.Fatalf("Reserve over the cap = %+v, want scope %s", a, tt.want)
			}
			if got := time.Unix(0, a.Err.GetResetsAtUnixNano()).UTC(); !got.Equal(tt.wantReset) {
				t.Errorf("resets at = %v, want %v", got, tt.wantReset)
			}
			if got, want := a.Err.RetryAfter(), tt.wantReset.Sub(budgetEpoch); got != want {
				t.Errorf("retry after = %v, want %v", got, want)
			}
			if !errors.Is(a.Err, runners.ErrBudgetExceeded) {
				t.Errorf("errors.Is(%v, ErrBudgetExceeded) = false", a.Err)
			}
			if !b.Reserve(budgetEpoch, "y", 0.01).OK() {
				t.Error("Reserve of what is left = rejected, want admitted")
			}
		})
	}
}

func TestBudgetWindowsRollOverInUTC(t *testing.T) {
	b := NewBudget(BudgetConfig{MaxSpendPerHour: 1, MaxSpendPerDay: 1.5})
	// 23:30 in UTC, given in a zone 5 h ahead (04:30 the next day there).
	zone := time.FixedZone("UTC+5", 5*3600)
	now := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC).In(zone)
	spend := func(id string, usd float64) bool {
		a := b.Reserve(now, id, usd)
		if a.OK() {
			b.Settle(now, id, usd)
		}
		return a.OK()
	}
	if !spend("a", 1) || spend("b", 0.1) {
		t.Fatal("first hour: want $1 admitted, then rejected")
	}
	now = now.Add(29*time.Minute + 59*time.Second)
	if spend("c", 0.1) {
		t.Fatal("23:59:59: admitted, want rejected (hour cap)")
	}
	now = now.Add(time.Second) // midnight UTC: both windows reset
	s := b.State(now)
	if s.GetSpentHourUsd() != 0 || s.GetSpentDayUsd() != 0 {
		t.Fatalf("at midnight UTC: %v, want both windows empty", s)
	}
	if want := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC).UnixNano(); s.GetDayResetsAtUnixNano() != want {
		t.Errorf("day resets at %v, want midnight UTC", time.Unix(0, s.GetDayResetsAtUnixNano()).UTC())
	}
	if !spend("d", 1) {
		t.Fatal("00:00: rejected, want admitted")
	}
	now = now.Add(time.Hour)
	if !spend("e", 0.5) || spend("f", 0.01) {
		t.Fatal("01:00: want $0.50 admitted, then the day cap ($1.50) reached")
	}
	a := b.Reserve(now, "g", 0.01)
	if a.Err.GetScope() != ScopeDay {
		t.Errorf("over the day cap: scope %q, want day", a.Err.GetScope())
	}
}

func TestBudgetReservationAcrossWindows(t *testing.T) {
	// A reservation made in one hour and settled in the next counts against
	// the new hour, and its reservation against both.
	b := NewBudget(BudgetConfig{MaxSpendPerHour: 1})
	now := time.Date(2026, 3, 14, 9, 59, 0, 0, time.UTC)
	if !b.Reserve(now, "long", 0.8).OK() {
		t.Fatal("Reserve(long) rejected")
	}
	now = now.Add(2 * time.Minute)
	if b.Reserve(now, "x", 0.3).OK() {
		t.Fatal("Reserve(x) in the new hour admitted over the outstanding reservation")
	}
	b.Settle(now, "long", 0.7)
	if got := b.State(now).GetSpentHourUsd(); got != 0.7 {
		t.Errorf("spent in the new hour = %v, want 0.7", got)
	}
}

func TestBudgetPolicies(t *testing.T) {
	t.Run("warn", func(t *testing.T) {
		b := NewBudget(BudgetConfig{MaxSpendPerHour: 0.1, OnExceeded: OnExceededWarn})
		if a := b.Reserve(budgetEpoch, "a", 0.1); !a.OK() || a.Warned {
			t.Fatalf("Reserve(a) = %+v, want admitted without warning", a)
		}
		a := b.Reserve(budgetEpoch, "b", 0.1)
		if !a.OK() || !a.Warned || a.Scope != ScopeHour || a.ReservedUSD != 0.1 {
			t.Fatalf("Reserve over the cap = %+v, want admitted, warned, scope hour", a)
		}
		if b.Warned() != 1 || b.State(budgetEpoch).GetReservedUsd() != 0.2 {
			t.Errorf("Warned = %d, reserved %v; want 1, 0.2", b.Warned(), b.State(budgetEpoch).GetReservedUsd())
		}
	})
	t.Run("throttle", func(t *testing.T) {
		b := NewBudget(BudgetConfig{MaxSpendPerHour: 0.1, OnExceeded: OnExceededThrottle})
		b.Reserve(budgetEpoch, "a", 0.1)
		if _, on := b.Throttled(budgetEpoch); on {
			t.Fatal("throttled under the cap")
		}
		a := b.Reserve(budgetEpoch, "b", 0.1)
		reset := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
		if a.OK() || a.Err.GetCode() != runners.CodeBudgetExceeded || !a.ThrottleUntil.Equal(reset) {
			t.Fatalf("Reserve over the cap = %+v, want rejected with throttle until 10:00", a)
		}
		if until, on := b.Throttled(reset.Add(-time.Nanosecond)); !on || !until.Equal(reset) {
			t.Errorf("Throttled before the reset = %v, %v; want until 10:00", until, on)
		}
		if !b.State(budgetEpoch).GetThrottled() {
			t.Error("State.Throttled = false, want true")
		}
		if _, on := b.Throttled(reset); on {
			t.Error("Throttled at the reset = true, want false")
		}
	})
	t.Run("zero cost is never blocked", func(t *testing.T) {
		for _, policy := range []OnExceeded{OnExceededReject, OnExceededWarn, OnExceededThrottle} {
			b := NewBudget(BudgetConfig{MaxSpendPerHour: 0.01, MaxSpendPerDay: 0.01, OnExceeded: policy})
			b.Reserve(budgetEpoch, "a", 0.01)
			b.Settle(budgetEpoch, "a", 0.02)
			for i := range 100 {
				if a := b.Reserve(budgetEpoch, fmt.Sprint(i), 0); !a.OK() || a.Warned {
					t.Fatalf("%v: Reserve($0) = %+v, want admitted", policy, a)
				}
			}
		}
	})
	t.Run("unknown price", func(t *testing.T) {
		tests := []struct {
			name string
			cfg  BudgetConfig
			ok   bool
			res  float64
		}{
			{"deny", BudgetConfig{MaxSpendPerHour: 1}, false, 0},
			{"estimate", BudgetConfig{MaxSpendPerHour: 1, UnknownPrice: UnknownPriceEstimate, UnknownPriceUSD: 0.25}, true, 0.25},
			{"no cap", BudgetConfig{}, true, 0},
		}
		for _, tt := range tests {
			b := NewBudget(tt.cfg)
			a := b.Reserve(budgetEpoch, "u", -1)
			if a.OK() != tt.ok || a.ReservedUSD != tt.res {
				t.Errorf("%s: Reserve(unknown) = %+v, want ok %v, reserved %v", tt.name, a, tt.ok, tt.res)
			}
			if !tt.ok && a.Err.GetScope() != ScopePrice {
				t.Errorf("%s: scope = %q, want price", tt.name, a.Err.GetScope())
			}
			b.Settle(budgetEpoch, "u", -1) // cost still unknown: charge the estimate
			if got := b.State(budgetEpoch).GetSpentHourUsd(); got != tt.res {
				t.Errorf("%s: spent after unknown settle = %v, want %v", tt.name, got, tt.res)
			}
		}
	})
}

func TestBudgetSettleAndRelease(t *testing.T) {
	tests := []struct {
		name   string
		end    func(b *Budget)
		spent  float64
		remain float64 // reserved after
	}{
		{"settle less", func(b *Budget) { b.Settle(budgetEpoch, "a", 0.01) }, 0.01, 0},
		{"settle more", func(b *Budget) { b.Settle(budgetEpoch, "a", 0.09) }, 0.09, 0},
		{"release", func(b *Budget) { b.Release(budgetEpoch, "a") }, 0, 0},
		{"release unknown id", func(b *Budget) { b.Release(budgetEpoch, "zz") }, 0, 0.05},
		{"settle free request", func(b *Budget) { b.Settle(budgetEpoch, "free", 0.02) }, 0.02, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBudget(BudgetConfig{MaxSpendPerHour: 1})
			b.Reserve(budgetEpoch, "a", 0.05)
			tt.end(b)
			s := b.State(budgetEpoch)
			if s.GetSpentHourUsd() != tt.spent || s.GetSpentDayUsd() != tt.spent || s.GetReservedUsd() != tt.remain {
				t.Errorf("State = %v, want spent %v, reserved %v", s, tt.spent, tt.remain)
			}
		})
	}
	b := NewBudget(BudgetConfig{MaxSpendPerHour: 1})
	b.Reserve(budgetEpoch, "a", 0.05)
	if a := b.Reserve(budgetEpoch, "a", 0.05); a.Err.GetCode() != runners.CodeBadRequest {
		t.Errorf("duplicate Reserve = %+v, want bad_request", a)
	}
}

func TestBudgetConfig(t *testing.T) {
	tests := []struct {
		cfg     BudgetConfig
		enabled bool
		valid   bool
	}{
		{BudgetConfig{}, false, true},
		{BudgetConfig{MaxSpendPerHour: 1}, true, true},
		{BudgetConfig{MaxSpendPerDay: 1, OnExceeded: OnExceededThrottle}, true, true},
		{BudgetConfig{MaxSpendPerHour: -1}, false, false},
		{BudgetConfig{MaxSpendPerDay: math.Inf(1)}, true, false},
		{BudgetConfig{OnExceeded: 7}, false, false},
		{BudgetConfig{UnknownPrice: UnknownPriceEstimate}, false, false},
		{BudgetConfig{UnknownPrice: UnknownPriceEstimate, UnknownPriceUSD: 0.1}, false, true},
	}
	for _, tt := range tests {
		if got := tt.cfg.Enabled(); got != tt.enabled {
			t.Errorf("%+v.Enabled() = %v, want %v", tt.cfg, got, tt.enabled)
		}
		if err := tt.cfg.Validate(); (err == nil) != tt.valid {
			t.Errorf("%+v.Validate() = %v, want valid %v", tt.cfg, err, tt.valid)
		}
	}
	for _, s := range []string{"reject", "warn", "throttle"} {
		p, err := ParseOnExceeded(s)
		if err != nil || p.String() != s {
			t.Errorf("ParseOnExceeded(%q) = %v, %v, want %s", s, p, err, s)
		}
	}
	if _, err := ParseOnExceeded("shrug"); err == nil {
		t.Error("ParseOnExceeded(shrug) error = nil, want error")
	}
}

func BenchmarkBudgetReserveSettle(b *testing.B) {
	bud := NewBudget(BudgetConfig{MaxSpendPerHour: 1e12, MaxSpendPerDay: 1e13})
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	now := budgetEpoch
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := ids[i&1023]
		if !bud.Reserve(now, id, 0.05).OK() {
			b.Fatal("rejected")
		}
		bud.Settle(now, id, 0.03)
	}
}

func ExampleBudget() {
	now := time.Date(2026, 1, 1, 9, 45, 0, 0, time.UTC)
	b := NewBudget(BudgetConfig{MaxSpendPerHour: 1})
	fmt.Println(b.Reserve(now, "a", 0.75).OK())
	a := b.Reserve(now, "b", 0.50)
	fmt.Println(a.Err.GetScope(), a.Err.RetryAfter())
	b.Settle(now, "a", 0.40)
	fmt.Println(b.Reserve(now, "b", 0.50).OK())
	// Output:
	// true
	// hour 15m0s
	// true
}
