package clock

import (
	"testing"
	"time"
)

func TestFakeFiresInOrder(t *testing.T) {
	c := NewFake(time.Unix(1000, 0))
	got := make(chan int, 3)
	c.AfterFunc(3*time.Second, func() { got <- 3 })
	c.AfterFunc(1*time.Second, func() { got <- 1 })
	stopped := c.AfterFunc(2*time.Second, func() { got <- 2 })
	if !stopped.Stop() {
		t.Fatal("Stop on a pending timer = false, want true")
	}
	ch := c.After(2 * time.Second)
	if c.Pending() != 3 {
		t.Fatalf("Pending() = %d, want 3", c.Pending())
	}
	c.Advance(5 * time.Second)
	if v := <-ch; !v.Equal(time.Unix(1002, 0)) {
		t.Fatalf("After fired at %v, want 1002", v)
	}
	a, b := <-got, <-got
	if !(a == 1 && b == 3 || a == 3 && b == 1) {
		t.Fatalf("fired %d,%d want 1 and 3", a, b)
	}
	if now := c.Now(); !now.Equal(time.Unix(1005, 0)) {
		t.Fatalf("Now() = %v, want 1005", now)
	}
	if c.Pending() != 0 {
		t.Fatalf("Pending() after advance = %d", c.Pending())
	}
}

func TestWaitForTimers(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	go c.AfterFunc(time.Second, func() {})
	if !c.WaitForTimers(1, time.After(10*time.Second)) {
		t.Fatal("timer never armed")
	}
}
