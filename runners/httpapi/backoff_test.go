package httpapi

import (
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func TestRetryableBeforeFirst(t *testing.T) {
	for _, tc := range []struct {
		e    *messages.Error
		want bool
	}{
		{&messages.Error{Code: runners.CodeServerError}, true},
		{&messages.Error{Code: runners.CodeNetwork}, true},
		{&messages.Error{Code: runners.CodeRateLimited}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "first_token"}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "idle"}, true},
		{&messages.Error{Code: runners.CodeTimeout, Scope: "total"}, false},
		{&messages.Error{Code: runners.CodeBadRequest}, false},
		{&messages.Error{Code: runners.CodeUnauthorized}, false},
		{&messages.Error{Code: runners.CodeContentFiltered}, false},
	} {
		if got := RetryableBeforeFirst(tc.e); got != tc.want {
			t.Errorf("RetryableBeforeFirst(%v) = %v, want %v", tc.e, got, tc.want)
		}
	}
}

func TestSessionBackoff(t *testing.T) {
	top := func(n time.Duration) time.Duration { return n } // jitter at its ceiling
	cfg := Config{Provider: runners.ProviderOpenAI, Endpoint: "http://127.0.0.1:1", Model: "m", APIKey: Secret{Inline: "k"},
		Retry: RetryPolicy{InitialBackoff: time.Second, MaxBackoff: 5 * time.Second}}
	s, err := NewSession(cfg, SessionOptions{Jitter: top})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		retry int
		hint  time.Duration
		want  time.Duration
	}{
		{0, 0, time.Second},
		{1, 0, 2 * time.Second},
		{2, 0, 4 * time.Second},
		{3, 0, 5 * time.Second},               // capped by MaxBackoff
		{0, 3 * time.Second, 3 * time.Second}, // never below the hint
	} {
		if got := s.Backoff(tc.retry, tc.hint); got != tc.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.retry, tc.hint, got, tc.want)
		}
	}
}
