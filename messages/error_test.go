package messages

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestErrorRoundTripsAsError(t *testing.T) {
	e := &Error{Code: ErrorCode_ERROR_CODE_RATE_LIMITED, Message: "slow down", Provider: "openai",
		RetryAfterMs: 1500, Deployment: "gpt", Scope: "rpm"}
	b, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Error
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	wrapped := fmt.Errorf("layer: %w", &back)
	var got *Error
	if !errors.As(wrapped, &got) {
		t.Fatalf("errors.As failed on %v", wrapped)
	}
	if got.GetCode() != ErrorCode_ERROR_CODE_RATE_LIMITED || got.RetryAfter().Milliseconds() != 1500 {
		t.Fatalf("round trip = %v, want rate_limited with 1.5s", got)
	}
	if !errors.Is(wrapped, &Error{Code: ErrorCode_ERROR_CODE_RATE_LIMITED}) {
		t.Fatalf("errors.Is by code failed")
	}
	if errors.Is(wrapped, &Error{Code: ErrorCode_ERROR_CODE_TIMEOUT}) {
		t.Fatalf("errors.Is matched a different code")
	}
	if want := "rate_limited (deployment gpt, scope rpm): slow down (retry after 1.5s)"; got.Error() != want {
		t.Fatalf("Error() = %q, want %q", got.Error(), want)
	}
}

func TestSlugs(t *testing.T) {
	for v := range ErrorCode_name {
		c := ErrorCode(v)
		if c == ErrorCode_ERROR_CODE_UNSPECIFIED {
			continue
		}
		back, ok := ErrorCodeFromSlug(c.Slug())
		if !ok || back != c {
			t.Errorf("ErrorCodeFromSlug(%q) = %v,%v want %v", c.Slug(), back, ok, c)
		}
	}
	if _, ok := ErrorCodeFromSlug("nope"); ok {
		t.Errorf("unknown slug accepted")
	}
	for _, s := range []string{"system", "user", "assistant", "tool"} {
		r, ok := RoleFromSlug(s)
		if !ok || r.Slug() != s {
			t.Errorf("RoleFromSlug(%q) = %v", s, r)
		}
	}
}
