package main

import (
	"strings"
	"testing"
)

// TestRun runs the example: every ticket is escalated past the local model,
// the first falls back from the rate-limited openai to anthropic.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`[openai: rate_limited, anthropic: served]`,
		`answer "billing" from anthropic`,
		`answer "technical" from openai`,
		`answer "account" from openai`,
		`provider calls: openai 3 (1 rate limited), anthropic 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
