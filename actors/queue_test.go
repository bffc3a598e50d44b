package actors

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestQueueOrder(t *testing.T) {
	type item struct {
		id   string
		prio int
	}
	tests := []struct {
		name string
		push []item
		want []string
	}{
		{"fifo", []item{{"a", 0}, {"b", 0}, {"c", 0}}, []string{"a", "b", "c"}},
		{"priority", []item{{"lo", 1}, {"hi", 9}, {"mid", 5}}, []string{"hi", "mid", "lo"}},
		{"fifo within priority", []item{{"a1", 1}, {"b2", 2}, {"a2", 1}, {"b1", 2}, {"n", -1}, {"a3", 1}},
			[]string{"b2", "b1", "a1", "a2", "a3", "n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := NewQueue[string](0)
			for _, it := range tt.push {
				if !q.Push(it.id, it.prio, it.id, time.Time{}) {
					t.Fatalf("Push(%s) = false, want true", it.id)
				}
			}
			if v, ok := q.Peek(); !ok || v != tt.want[0] {
				t.Errorf("Peek() = %q, %v, want %q", v, ok, tt.want[0])
			}
			var got []string
			for {
				v, ok := q.Pop()
				if !ok {
					break
				}
				got = append(got, v)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Pop order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQueueOrderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	q := NewQueue[int](0)
	type rec struct{ prio, seq int }
	var all []rec
	for i := range 2000 {
		p := r.IntN(5)
		q.Push(i, p, fmt.Sprint(i), time.Time{})
		all = append(all, rec{p, i})
	}
	slices.SortStableFunc(all, func(a, b rec) int { return b.prio - a.prio })
	for i, want := range all {
		if v, _ := q.Pop(); v != want.seq {
			t.Fatalf("Pop #%d = %d, want %d", i, v, want.seq)
		}
	}
}

func TestQueueCapacityAndRemove(t *testing.T) {
	q := NewQueue[string](2)
	if !q.Push("a", 0, "a", time.Time{}) || !q.Push("b", 0, "b", time.Time{}) {
		t.Fatal("Push into a queue with room = false")
	}
	if q.Push("c", 9, "c", time.Time{}) {
		t.Error("Push into a full queue = true, want false")
	}
	if v, ok := q.Remove("a"); !ok || v != "a" {
		t.Errorf("Remove(a) = %q, %v, want a, true", v, ok)
	}
	if _, ok := q.Remove("a"); ok {
		t.Error("Remove(a) twice = true, want false")
	}
	if q.Push("b", 0, "b", time.Time{}) {
		t.Error("Push of a queued id = true, want false")
	}
	if !q.Push("c", 9, "c", time.Time{}) {
		t.Error("Push after Remove = false, want true")
	}
	if q.Len() != 2 || q.Cap() != 2 {
		t.Errorf("Len, Cap = %d, %d, want 2, 2", q.Len(), q.Cap())
	}
	if v, _ := q.Pop(); v != "c" {
		t.Errorf("Pop() = %q, want c", v)
	}
}

func TestQueueExpiry(t *testing.T) {
	q := NewQueue[string](0)
	at := func(s int) time.Time { return epoch.Add(time.Duration(s) * time.Second) }
	q.Push("none", 5, "none", time.Time{})
	q.Push("t3", 0, "t3", at(3))
	q.Push("t1", 9, "t1", at(1))
	q.Push("t2", 1, "t2", at(2))
	q.Push("t2b", 1, "t2b", at(2))
	if d, ok := q.NextDeadline(); !ok || !d.Equal(at(1)) {
		t.Fatalf("NextDeadline() = %v, %v, want +1s", d, ok)
	}
	if got := q.PopExpired(at(0)); got != nil {
		t.Errorf("PopExpired(+0s) = %v, want nil", got)
	}
	got := q.PopExpired(at(2))
	slices.Sort(got[1:]) // t2 and t2b share a deadline
	if want := []string{"t1", "t2", "t2b"}; !slices.Equal(got, want) {
		t.Errorf("PopExpired(+2s) = %v, want %v", got, want)
	}
	q.Remove("t3")
	if d, ok := q.NextDeadline(); ok {
		t.Errorf("NextDeadline() with no deadlines = %v, true, want false", d)
	}
	if got := q.PopExpired(at(100)); got != nil {
		t.Errorf("PopExpired(+100s) = %v, want nil (no deadline)", got)
	}
	if v, _ := q.Pop(); v != "none" || q.Len() != 0 {
		t.Errorf("Pop() = %q, Len %d, want none, 0", v, q.Len())
	}
}

func TestQueueSteadyStateDoesNotAllocate(t *testing.T) {
	q := NewQueue[int](64)
	ids := make([]string, 64)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	dl := epoch.Add(time.Hour)
	cycle := func() {
		for i, id := range ids {
			q.Push(i, i%3, id, dl)
		}
		q.Remove(ids[5])
		for q.Len() > 0 {
			q.Pop()
		}
	}
	cycle()
	if got := testing.AllocsPerRun(100, cycle); got != 0 {
		t.Errorf("allocations per push/pop cycle of 64 = %v, want 0", got)
	}
}

func BenchmarkQueuePushRemove(b *testing.B) {
	q := NewQueue[int](1024)
	ids := make([]string, 256)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	for i := range 128 {
		q.Push(i, i%4, ids[i], epoch.Add(time.Duration(i)*time.Second))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := ids[128+i&127]
		q.Push(i, i%4, id, epoch.Add(time.Duration(i)*time.Second))
		q.Remove(id)
	}
}
