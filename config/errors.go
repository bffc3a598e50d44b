package config

import (
	"errors"
	"fmt"
)

// The kinds of problem a FieldError reports. Callers branch on them with
// errors.Is; tests assert on them instead of matching error text.
var (
	// ErrSyntax: the file is not valid TOML.
	ErrSyntax = errors.New("config: syntax error")
	// ErrType: a value has the wrong TOML type (a string where a number
	// belongs, a table where a list belongs, ...).
	ErrType = errors.New("config: wrong type")
	// ErrUnknownKey: a key the schema does not know (often a typo).
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrRequired: a value that must be set is missing and has no default,
	// or cannot be inferred.
	ErrRequired = errors.New("config: required")
	// ErrOutOfRange: a number or duration outside its allowed range,
	// including an explicit zero where zero would only mean "the default".
	ErrOutOfRange = errors.New("config: out of range")
	// ErrInvalid: a malformed value: an unknown enum value, a bad duration,
	// address, URL, header or regular expression.
	ErrInvalid = errors.New("config: invalid value")
	// ErrDuplicate: a name used twice, or a router named like a deployment.
	ErrDuplicate = errors.New("config: duplicate")
	// ErrUnknownReference: a fallback, member or tier names a deployment or
	// router that does not exist.
	ErrUnknownReference = errors.New("config: unknown reference")
	// ErrCycle: fallbacks and router members form a cycle.
	ErrCycle = errors.New("config: cycle")
	// ErrConflict: keys that cannot be combined, or a key that does not
	// apply to the deployment's runtime or the router's kind.
	ErrConflict = errors.New("config: conflicting keys")
	// ErrSecret: a secret reference that cannot be resolved (environment
	// variable unset or empty, file unreadable or empty), or an inline
	// secret where inline secrets are not allowed.
	ErrSecret = errors.New("config: unresolvable secret")
)

// FieldError is one problem with one key. Path names the key the way a user
// finds it in the file, e.g.
//
//	deployment[2] ("gpt-4o").rate_limits.requests_per_minute
//
// Kind is one of the Err sentinels above; Problem says what is wrong in words
// (it never contains a secret value). Err, when set, is the underlying cause
// (an *os.PathError for an unreadable secret file, say).
//
// Parse, Load and Validate return every FieldError they find, joined with
// errors.Join; use errors.As on each, or the Problems helper.
type FieldError struct {
	Source  string // the file the key came from; empty for configs built in Go
	Path    string // the key, as described above; empty for file-level problems
	Kind    error  // one of the Err sentinels
	Problem string // what is wrong, e.g. "must be ≥ 0, got -5"
	Err     error  // the underlying cause, if any
}

// Error returns "source: path: problem", leaving out the empty parts.
func (e *FieldError) Error() string {
	s := e.Problem
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Source != "" {
		s = e.Source + ": " + s
	}
	return s
}

// Unwrap returns the Kind and, when set, the underlying cause, so that
// errors.Is(err, ErrOutOfRange) and errors.Is(err, fs.ErrNotExist) both work.
func (e *FieldError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// Problems returns the FieldErrors inside err (as returned by Parse, Load or
// Validate), in order. It returns nil for a nil error.
func Problems(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// problems collects FieldErrors while a config is decoded or validated.
type problems struct {
	source string
	list   []*FieldError
}

func (p *problems) add(path string, kind error, format string, args ...any) {
	p.list = append(p.list, &FieldError{Source: p.source, Path: path, Kind: kind, Problem: fmt.Sprintf(format, args...)})
}

func (p *problems) addErr(fe *FieldError) {
	if fe.Source == "" {
		fe.Source = p.source
	}
	p.list = append(p.list, fe)
}

// err joins the collected problems, or returns nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	errs := make([]error, len(p.list))
	for i, fe := range p.list {
		errs[i] = fe
	}
	return errors.Join(errs...)
}
