package train

import "sync"

// pool is a fixed set of worker goroutines. run hands out indexes; each
// worker passes its own number so it can use per-worker scratch. A pool is
// safe for use by one caller at a time; close stops the workers.
type pool struct {
	n    int
	work chan poolTask
}

type poolTask struct {
	f    func(worker, i int)
	i    int
	done *sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{n: n, work: make(chan poolTask)}
	for w := 0; w < n; w++ {
		go func() {
			for t := range p.work {
				t.f(w, t.i)
				t.done.Done()
			}
		}()
	}
	return p
}

// run calls f(worker, i) for every i in [0, n) and waits for all calls.
func (p *pool) run(n int, f func(worker, i int)) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		p.work <- poolTask{f: f, i: i, done: &wg}
	}
	wg.Wait()
}

func (p *pool) close() { close(p.work) }
