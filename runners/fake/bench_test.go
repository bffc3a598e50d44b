package fake_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// benchRun executes b on r and reads it to io.EOF, b.N times.
func benchRun(tb *testing.B, r *fake.Runner, b *messages.ExecuteBatch) {
	ctx := context.Background()
	tb.ReportAllocs()
	for tb.Loop() {
		h, err := r.Execute(ctx, b)
		if err != nil {
			tb.Fatal(err)
		}
		for {
			if _, err := h.Recv(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				tb.Fatal(err)
			}
		}
		h.Close()
	}
}

const benchPrompt = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"

func BenchmarkExecute(b *testing.B) {
	tests := []struct {
		name   string
		opts   []fake.Option
		stream bool
	}{
		{"unary", nil, false},
		{"stream16", nil, true},
		{"stream16-piped", []fake.Option{fake.WithTokenDelay(time.Nanosecond), fake.WithClock(instant{})}, true},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			benchRun(b, fake.New(tt.opts...), batch(tt.stream, 0, nil, user(benchPrompt)))
		})
	}
}

func BenchmarkExecuteParallel(b *testing.B) {
	r := fake.New()
	bt := batch(false, 0, nil, user(benchPrompt))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h, err := r.Execute(context.Background(), bt)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := runners.ReadAll(h); err != nil {
				b.Fatal(err)
			}
		}
	})
}
