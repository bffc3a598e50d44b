package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// problem is the structured part of a FieldError that tests assert on.
type problem struct {
	Path string
	Kind error
}

func (p problem) String() string { return fmt.Sprintf("%s [%v]", p.Path, p.Kind) }

// kinds lists every sentinel, to check that each FieldError carries one.
var kinds = []error{ErrSyntax, ErrType, ErrUnknownKey, ErrRequired, ErrOutOfRange, ErrInvalid,
	ErrDuplicate, ErrUnknownReference, ErrCycle, ErrConflict, ErrSecret}

// problemsOf returns err's FieldErrors as problems, failing the test if err
// holds anything else or a FieldError with an unknown kind.
func problemsOf(t *testing.T, err error) []problem {
	t.Helper()
	if err == nil {
		return nil
	}
	fes := Problems(err)
	if len(fes) == 0 {
		t.Fatalf("error %v holds no *FieldError", err)
	}
	var out []problem
	for _, fe := range fes {
		if !slices.Contains(kinds, fe.Kind) {
			t.Errorf("FieldError %q has kind %v, not a sentinel", fe.Path, fe.Kind)
		}
		if !errors.Is(err, fe.Kind) {
			t.Errorf("errors.Is(err, %v) = false for a problem of that kind", fe.Kind)
		}
		out = append(out, problem{fe.Path, fe.Kind})
	}
	return out
}

// sameProblems compares problem lists regardless of order.
func sameProblems(got, want []problem) bool {
	key := func(ps []problem) []string {
		var s []string
		for _, p := range ps {
			s = append(s, p.String())
		}
		slices.Sort(s)
		return s
	}
	return slices.Equal(key(got), key(want))
}

func fmtProblems(ps []problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "\n\t%s", p)
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}

// parseProblems parses src with opts and returns its problems; a nil
// config must come with problems and a non-nil one without.
func parseProblems(t *testing.T, src string, opts Options) (*Config, []problem) {
	t.Helper()
	c, err := ParseWith([]byte(src), "test.toml", opts)
	if (c == nil) == (err == nil) {
		t.Fatalf("ParseWith returned config %v and error %v; want exactly one", c != nil, err)
	}
	ps := problemsOf(t, err)
	for _, fe := range Problems(err) {
		if fe.Source != "test.toml" {
			t.Errorf("FieldError %q Source = %q, want %q", fe.Path, fe.Source, "test.toml")
		}
	}
	return c, ps
}

// mustParse parses src, failing the test on any problem.
func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, ps := parseProblems(t, src, Options{})
	if len(ps) > 0 {
		t.Fatalf("Parse: unexpected problems:%s", fmtProblems(ps))
	}
	return c
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
