// Package clock is the time source of actorinfer's cores and actors: the
// real clock in production, a Fake that tests advance by hand, so that no
// test ever sleeps.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules callbacks. Implementations are safe for
// concurrent use.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d. Stop cancels it.
	AfterFunc(d time.Duration, f func()) Timer
	// After returns a channel that receives once after d.
	After(d time.Duration) <-chan time.Time
}

// Timer is a scheduled callback.
type Timer interface {
	// Stop cancels the timer; it reports whether it stopped it before it fired.
	Stop() bool
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// After wraps time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Fake is a manual clock for tests. Time moves only when Advance or Set is
// called; due callbacks then run in their own goroutines, in due order. The
// zero value is not usable; use NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     int
	waiters []*fakeTimer
	// changed is closed and replaced whenever a timer is added, so tests can
	// wait for a component to arm its timer instead of sleeping.
	changed chan struct{}
}

type fakeTimer struct {
	c       *Fake
	at      time.Time
	seq     int
	f       func()
	ch      chan time.Time
	stopped bool
	fired   bool
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, changed: make(chan struct{})} }

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	return c.add(d, f, nil)
}

// After returns a channel that receives at Now()+d.
func (c *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.add(d, nil, ch)
	return ch
}

func (c *Fake) add(d time.Duration, f func(), ch chan time.Time) *fakeTimer {
	c.mu.Lock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f, ch: ch}
	if d <= 0 {
		c.mu.Unlock()
		t.fire(c.Now())
		return t
	}
	c.waiters = append(c.waiters, t)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return t
}

func (t *fakeTimer) fire(now time.Time) {
	if t.f != nil {
		go t.f()
	}
	if t.ch != nil {
		t.ch <- now
	}
}

// Stop implements Timer.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.fired {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock forward by d, firing every timer that falls due,
// in order, with Now() set to each timer's due time as it fires.
func (c *Fake) Advance(d time.Duration) {
	c.Set(c.Now().Add(d))
}

// Set moves the clock to t (never backwards), firing due timers.
func (c *Fake) Set(t time.Time) {
	for {
		c.mu.Lock()
		sort.SliceStable(c.waiters, func(i, j int) bool {
			if c.waiters[i].at.Equal(c.waiters[j].at) {
				return c.waiters[i].seq < c.waiters[j].seq
			}
			return c.waiters[i].at.Before(c.waiters[j].at)
		})
		var next *fakeTimer
		for len(c.waiters) > 0 {
			w := c.waiters[0]
			if w.stopped {
				c.waiters = c.waiters[1:]
				continue
			}
			if !w.at.After(t) {
				next = w
				c.waiters = c.waiters[1:]
			}
			break
		}
		if next == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.fired = true
		now := c.now
		c.mu.Unlock()
		next.fire(now)
	}
}

// Pending returns the number of armed timers.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waiters {
		if !w.stopped {
			n++
		}
	}
	return n
}

// WaitForTimers blocks until at least n timers are armed or the deadline
// channel fires; it reports whether n were reached. Tests use it to wait for
// a component to schedule its wake-up before advancing time.
func (c *Fake) WaitForTimers(n int, deadline <-chan time.Time) bool {
	for {
		c.mu.Lock()
		cnt := 0
		for _, w := range c.waiters {
			if !w.stopped {
				cnt++
			}
		}
		ch := c.changed
		c.mu.Unlock()
		if cnt >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}
