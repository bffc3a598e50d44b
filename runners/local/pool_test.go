package local

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPoolDispatch measures one parallel loop's hand-off cost (a
// trivial loop: the worker must notice it and report back).
func BenchmarkPoolDispatch(b *testing.B) {
	p := newPool(2)
	defer p.close()
	var n atomic.Int64
	fn := func(lo, hi int) { n.Add(int64(hi - lo)) }
	for i := 0; i < b.N; i++ {
		p.run(64, 1, fn)
	}
}

// TestPoolRunsEveryItem: every item of every loop runs exactly once, with
// spinning workers and with workers that park after every loop.
func TestPoolRunsEveryItem(t *testing.T) {
	for _, spin := range []time.Duration{spinFor, 0} {
		poolRounds(t, newPoolSpin(3, spin))
	}
}

func poolRounds(t *testing.T, p *pool) {
	defer p.close()
	seen := make([]atomic.Int32, 1000)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			seen[i].Add(1)
		}
	}
	for round := 1; round <= 200; round++ {
		p.run(len(seen), 1+round%7, fn)
		for i := range seen {
			if got := seen[i].Load(); got != int32(round) {
				t.Fatalf("round %d: item %d ran %d times", round, i, got)
			}
		}
	}
}
