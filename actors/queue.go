package actors

import (
	"container/heap"
	"time"
)

// Queue is a bounded priority queue of pending requests: Pop returns the
// highest priority first and, within a priority, the oldest first. Items
// are named by a unique id (for Remove) and may carry a deadline (for
// PopExpired). Push, Pop and Remove are O(log n); entries are recycled, so
// a queue in steady state does not allocate.
//
// The zero value is not usable; use NewQueue. A Queue is not safe for
// concurrent use; the DeploymentActor owns one.
type Queue[T any] struct {
	capacity int
	seq      uint64
	ids      map[string]*queueEntry[T]
	byPrio   queuePrioHeap[T]
	byDL     queueDeadlineHeap[T]
	free     []*queueEntry[T]
}

type queueEntry[T any] struct {
	v        T
	id       string
	priority int
	seq      uint64
	deadline time.Time // zero: none
	pi, di   int       // heap indexes; di -1 when not in byDL
}

// NewQueue returns an empty queue holding at most capacity items; a
// capacity below 1 means unbounded.
func NewQueue[T any](capacity int) *Queue[T] {
	return &Queue[T]{capacity: capacity, ids: make(map[string]*queueEntry[T])}
}

// Push adds v under id with priority (higher first) and deadline (zero:
// none). It reports false, and adds nothing, when the queue is full or id
// is already queued.
func (q *Queue[T]) Push(v T, priority int, id string, deadline time.Time) bool {
	if q.capacity > 0 && len(q.ids) >= q.capacity {
		return false
	}
	if _, dup := q.ids[id]; dup {
		return false
	}
	var e *queueEntry[T]
	if n := len(q.free); n > 0 {
		e, q.free = q.free[n-1], q.free[:n-1]
	} else {
		e = new(queueEntry[T])
	}
	q.seq++
	*e = queueEntry[T]{v: v, id: id, priority: priority, seq: q.seq, deadline: deadline, di: -1}
	q.ids[id] = e
	heap.Push(&q.byPrio, e)
	if !deadline.IsZero() {
		heap.Push(&q.byDL, e)
	}
	return true
}

// Pop removes and returns the item with the highest priority, the oldest
// among equals; ok is false when the queue is empty.
func (q *Queue[T]) Pop() (v T, ok bool) {
	if len(q.byPrio) == 0 {
		return v, false
	}
	return q.remove(q.byPrio[0]), true
}

// Peek returns the item Pop would return, without removing it.
func (q *Queue[T]) Peek() (v T, ok bool) {
	if len(q.byPrio) == 0 {
		return v, false
	}
	return q.byPrio[0].v, true
}

// Remove removes the item queued under id; ok is false when there is none.
func (q *Queue[T]) Remove(id string) (v T, ok bool) {
	e, ok := q.ids[id]
	if !ok {
		return v, false
	}
	return q.remove(e), true
}

// PopExpired removes and returns, earliest deadline first, every item whose
// deadline is not after now. It returns nil when there is none.
func (q *Queue[T]) PopExpired(now time.Time) []T {
	var out []T
	for len(q.byDL) > 0 && !q.byDL[0].deadline.After(now) {
		out = append(out, q.remove(q.byDL[0]))
	}
	return out
}

// NextDeadline returns the earliest deadline of a queued item; ok is false
// when no queued item has one.
func (q *Queue[T]) NextDeadline() (deadline time.Time, ok bool) {
	if len(q.byDL) == 0 {
		return time.Time{}, false
	}
	return q.byDL[0].deadline, true
}

// Len returns the number of queued items.
func (q *Queue[T]) Len() int { return len(q.ids) }

// Cap returns the capacity given to NewQueue (below 1: unbounded).
func (q *Queue[T]) Cap() int { return q.capacity }

func (q *Queue[T]) remove(e *queueEntry[T]) T {
	heap.Remove(&q.byPrio, e.pi)
	if e.di >= 0 {
		heap.Remove(&q.byDL, e.di)
	}
	delete(q.ids, e.id)
	v := e.v
	*e = queueEntry[T]{}
	q.free = append(q.free, e)
	return v
}

// queuePrioHeap orders entries by priority (higher first), then by arrival.
type queuePrioHeap[T any] []*queueEntry[T]

func (h queuePrioHeap[T]) Len() int { return len(h) }
func (h queuePrioHeap[T]) Less(i, j int) bool {
	if h[i].priority != h[j].priority {
		return h[i].priority > h[j].priority
	}
	return h[i].seq < h[j].seq
}
func (h queuePrioHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pi, h[j].pi = i, j
}
func (h *queuePrioHeap[T]) Push(x any) {
	e := x.(*queueEntry[T])
	e.pi = len(*h)
	*h = append(*h, e)
}
func (h *queuePrioHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// queueDeadlineHeap orders entries by deadline, earliest first.
type queueDeadlineHeap[T any] []*queueEntry[T]

func (h queueDeadlineHeap[T]) Len() int           { return len(h) }
func (h queueDeadlineHeap[T]) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h queueDeadlineHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].di, h[j].di = i, j
}
func (h *queueDeadlineHeap[T]) Push(x any) {
	e := x.(*queueEntry[T])
	e.di = len(*h)
	*h = append(*h, e)
}
func (h *queueDeadlineHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.di = -1
	return e
}
