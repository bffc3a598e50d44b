package fake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

func TestHealthy(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		setup func(r *fake.Runner)
		want  runners.Code // 0: healthy
	}{
		{"healthy", context.Background(), func(*fake.Runner) {}, 0},
		{"poisoned", context.Background(), (*fake.Runner).PoisonContext, runners.CodeCudaContextPoisoned},
		{"auth expired", context.Background(), (*fake.Runner).ExpireAuth, runners.CodeUnauthorized},
		{"health failure", context.Background(), func(r *fake.Runner) { r.FailHealth(errors.New("canary")) }, runners.CodeInternal},
		{"health failure cleared", context.Background(), func(r *fake.Runner) { r.FailHealth(errors.New("x")); r.FailHealth(nil) }, 0},
		{"rules do not count", context.Background(), func(r *fake.Runner) { r.FailFrom(1, nil) }, 0},
		{"healed", context.Background(), func(r *fake.Runner) { r.PoisonContext(); r.FailHealth(errors.New("x")); r.Heal() }, 0},
		{"cancelled", cancelled, func(*fake.Runner) {}, runners.CodeCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New()
			tt.setup(r)
			err := r.Healthy(tt.ctx)
			if got := runners.AsError(err).GetCode(); got != tt.want {
				t.Errorf("Healthy() = %v (code %v), want code %v", err, got, tt.want)
			}
		})
	}
}

func TestRateLimitSink(t *testing.T) {
	tests := []struct {
		name   string
		opts   []fake.Option
		inject func(r *fake.Runner)
		wantMs []int64
	}{
		{"silent by default", nil, func(r *fake.Runner) { r.RateLimitNext(1, time.Second) }, nil},
		{"429 feedback", []fake.Option{fake.WithRateLimitFeedback()}, func(r *fake.Runner) { r.RateLimitNext(2, 3*time.Second) },
			[]int64{3000, 3000}},
		{"injected rate limit error", []fake.Option{fake.WithRateLimitFeedback()},
			func(r *fake.Runner) { r.FailNth(1, runners.RateLimitedError("tpm", time.Second, "x")) }, []int64{1000}},
		{"other errors stay silent", []fake.Option{fake.WithRateLimitFeedback()},
			func(r *fake.Runner) { r.FailNth(1, runners.Errorf(runners.CodeServerError, "x")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New(tt.opts...)
			var got []int64
			r.SetRateLimitSink(func(fb *messages.RateLimitFeedback) { got = append(got, fb.GetRetryAfterMs()) })
			tt.inject(r)
			for i := 0; i < 3; i++ {
				outcome(t, r)
			}
			if len(got) != len(tt.wantMs) {
				t.Fatalf("sink got retry hints %v, want %v", got, tt.wantMs)
			}
			for i := range got {
				if got[i] != tt.wantMs[i] {
					t.Errorf("sink got retry hints %v, want %v", got, tt.wantMs)
				}
			}
			got = nil
			if ok := r.ReportRateLimit(&messages.RateLimitFeedback{RemainingRequests: 5}); !ok || len(got) != 1 {
				t.Errorf("ReportRateLimit = %v, sink calls %d, want true, 1", ok, len(got))
			}
		})
	}
	if fake.New().ReportRateLimit(&messages.RateLimitFeedback{}) {
		t.Errorf("ReportRateLimit without a sink = true, want false")
	}
}
