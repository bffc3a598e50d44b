package actors

import (
	"sync"
	"testing"
	"time"
)

func TestGoPoolRunsEverythingConcurrently(t *testing.T) {
	p := newGoPool(time.Minute)
	// 50 functions that all block until every one has started: a pool
	// that waited for a free worker would deadlock here.
	const n = 50
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		p.Go(func() {
			started.Done()
			<-release
			done.Done()
		})
	}
	started.Wait()
	close(release)
	done.Wait()
	// Idle workers take new work.
	ran := make(chan struct{})
	p.Go(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("pooled function never ran")
	}
}
