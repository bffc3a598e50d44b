package runners_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

const waitFor = 10 * time.Second

func chunk(text string) *messages.TokenChunk { return &messages.TokenChunk{Text: text} }

// drain reads h until an error, bounded by waitFor.
func drain(t *testing.T, h runners.RunHandle) ([]string, error) {
	t.Helper()
	type res struct {
		texts []string
		err   error
	}
	ch := make(chan res, 1)
	go func() {
		var out []string
		for {
			c, err := h.Recv()
			if err != nil {
				ch <- res{out, err}
				return
			}
			out = append(out, c.GetText())
		}
	}()
	select {
	case r := <-ch:
		return r.texts, r.err
	case <-time.After(waitFor):
		t.Fatalf("Recv did not end within %v", waitFor)
		return nil, nil
	}
}

func TestPipeDelivers(t *testing.T) {
	boom := runners.Errorf(runners.CodeServerError, "boom")
	tests := []struct {
		name    string
		buffer  int
		finish  []error // Finish calls; only the first counts
		want    []string
		wantErr error
	}{
		{"clean end", 3, []error{nil}, []string{"a", "b", "c"}, io.EOF},
		{"explicit EOF", 3, []error{io.EOF}, []string{"a", "b", "c"}, io.EOF},
		{"error after chunks", 3, []error{boom, nil}, []string{"a", "b", "c"}, boom},
		{"first finish wins", 3, []error{nil, boom}, []string{"a", "b", "c"}, io.EOF},
		{"unbuffered", 0, []error{boom}, []string{"a", "b", "c"}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := runners.NewPipe(context.Background(), tt.buffer)
			go func() {
				for _, s := range []string{"a", "b", "c"} {
					if !p.Send(chunk(s)) {
						return
					}
				}
				for _, err := range tt.finish {
					p.Finish(err)
				}
			}()
			got, err := drain(t, p)
			if len(got) != len(tt.want) || got[0] != "a" || got[1] != "b" || got[2] != "c" {
				t.Errorf("chunks = %q, want %q", got, tt.want)
			}
			if err != tt.wantErr {
				t.Errorf("end = %v, want %v", err, tt.wantErr)
			}
			if _, again := p.Recv(); again != tt.wantErr {
				t.Errorf("Recv after the end = %v, want %v again", again, tt.wantErr)
			}
			if p.Close() != nil || p.Close() != nil {
				t.Errorf("Close twice returned an error")
			}
		})
	}
}

func TestPipeCloseReleasesBoth(t *testing.T) {
	t.Run("blocked Send", func(t *testing.T) {
		p, pctx := runners.NewPipe(context.Background(), 0)
		sent := make(chan bool, 1)
		go func() { sent <- p.Send(chunk("a")) }()
		p.Close()
		select {
		case ok := <-sent:
			if ok {
				t.Errorf("Send across Close = true, want false")
			}
		case <-time.After(waitFor):
			t.Fatal("Send stayed blocked after Close")
		}
		select {
		case <-pctx.Done():
		default:
			t.Errorf("producer context not done after Close")
		}
		if p.Send(chunk("b")) {
			t.Errorf("Send after Close = true, want false")
		}
	})
	t.Run("blocked Recv", func(t *testing.T) {
		p, _ := runners.NewPipe(context.Background(), 1)
		done := make(chan error, 1)
		go func() {
			_, err := p.Recv()
			done <- err
		}()
		p.Close()
		select {
		case err := <-done:
			if !errors.Is(err, runners.ErrCancelled) {
				t.Errorf("Recv across Close = %v, want cancelled", err)
			}
		case <-time.After(waitFor):
			t.Fatal("Recv stayed blocked after Close")
		}
	})
}

func TestPipeParentContext(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	_, pctx := runners.NewPipe(parent, 0)
	if pctx.Err() != nil {
		t.Fatalf("producer context done before cancel: %v", pctx.Err())
	}
	cancel()
	select {
	case <-pctx.Done():
	case <-time.After(waitFor):
		t.Fatal("producer context not done after the parent was cancelled")
	}
	if !errors.Is(pctx.Err(), context.Canceled) {
		t.Errorf("producer ctx.Err() = %v, want context.Canceled", pctx.Err())
	}
}

func TestSliceHandle(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		h    *runners.SliceHandle
		want int
		err  error
	}{
		{"empty", &runners.SliceHandle{}, 0, io.EOF},
		{"chunks", &runners.SliceHandle{Chunks: []*messages.TokenChunk{chunk("a"), chunk("b")}}, 2, io.EOF},
		{"error after chunks", &runners.SliceHandle{Chunks: []*messages.TokenChunk{chunk("a")}, Err: boom}, 1, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := drain(t, tt.h)
			if len(got) != tt.want || err != tt.err {
				t.Errorf("drain = %q, %v, want %d chunks, %v", got, err, tt.want, tt.err)
			}
			if _, again := tt.h.Recv(); again != tt.err {
				t.Errorf("Recv after the end = %v, want %v", again, tt.err)
			}
			if tt.h.Close() != nil {
				t.Errorf("Close() != nil")
			}
		})
	}
}

// closeCounter counts Close calls on a SliceHandle.
type closeCounter struct {
	runners.SliceHandle
	closes int
}

func (c *closeCounter) Close() error { c.closes++; return nil }

func TestReadAll(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		h    *closeCounter
		want int
		err  error
	}{
		{"clean", &closeCounter{SliceHandle: runners.SliceHandle{Chunks: []*messages.TokenChunk{chunk("a"), chunk("b")}}}, 2, nil},
		{"error", &closeCounter{SliceHandle: runners.SliceHandle{Chunks: []*messages.TokenChunk{chunk("a")}, Err: boom}}, 1, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runners.ReadAll(tt.h)
			if len(got) != tt.want || err != tt.err {
				t.Errorf("ReadAll = %d chunks, %v, want %d, %v", len(got), err, tt.want, tt.err)
			}
			if tt.h.closes != 1 {
				t.Errorf("ReadAll closed the handle %d times, want 1", tt.h.closes)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var d runners.Defaults
	if d.LoadWeights(context.Background(), runners.CudaContextHandle{}, runners.WeightSource{}) != nil ||
		d.GILPinned() || d.RateLimits() != nil || d.EstimateCostUSD(&messages.ExecuteBatch{}) != 0 {
		t.Errorf("Defaults = (LoadWeights, GILPinned, RateLimits, EstimateCostUSD) not (nil, false, nil, 0)")
	}
	var l *runners.RateLimits
	if !l.IsZero() || !(&runners.RateLimits{}).IsZero() || (&runners.RateLimits{ConcurrentRequests: 1}).IsZero() {
		t.Errorf("RateLimits.IsZero wrong for nil, zero or a set limit")
	}
}
