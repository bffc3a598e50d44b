package actors

import (
	"sync"
	"testing"
)

func TestPoolDispatcherRunsWorkAndSurvivesStop(t *testing.T) {
	d := NewPoolDispatcher(2, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		d.Schedule(func() { mu.Lock(); ran++; mu.Unlock(); wg.Done() })
	}
	d.Stop()
	// Scheduling after Stop must not panic and must still run the work.
	wg.Add(1)
	d.Schedule(func() { mu.Lock(); ran++; mu.Unlock(); wg.Done() })
	wg.Wait()
	if ran != 101 {
		t.Fatalf("ran %d functions, want 101", ran)
	}
	if d.Throughput() != 10 {
		t.Fatalf("Throughput() = %d, want 10", d.Throughput())
	}
}
