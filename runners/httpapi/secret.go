package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secret says where a credential comes from: an environment variable, a
// file (re-read on every session rebuild, so a rotated key takes effect
// without a restart), or, in tests only, an inline value. Exactly one source
// may be set; the zero value means "no credential".
//
// A Secret never prints its value: String, GoString, Format (through them)
// and MarshalJSON describe the source only.
type Secret struct {
	FromEnv  string
	FromFile string
	Inline   string
}

// ErrNoSecret is returned by Resolve for a zero Secret.
var ErrNoSecret = errors.New("httpapi: no credential configured")

// IsZero reports whether no source is set.
func (s Secret) IsZero() bool { return s.FromEnv == "" && s.FromFile == "" && s.Inline == "" }

// Validate reports a Secret with more than one source.
func (s Secret) Validate() error {
	n := 0
	for _, v := range []string{s.FromEnv, s.FromFile, s.Inline} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("httpapi: a secret takes exactly one of from_env, from_file, inline")
	}
	return nil
}

// Resolve reads the credential now. Surrounding whitespace (a file's final
// newline) is trimmed. Errors name the source, never the value.
func (s Secret) Resolve() (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	switch {
	case s.FromEnv != "":
		v, ok := os.LookupEnv(s.FromEnv)
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return "", fmt.Errorf("httpapi: secret %s: environment variable is unset or empty", s)
		}
		return v, nil
	case s.FromFile != "":
		b, err := os.ReadFile(s.FromFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message
			}
			return "", fmt.Errorf("httpapi: secret %s: %w", s, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("httpapi: secret %s: file is empty", s)
		}
		return v, nil
	case s.Inline != "":
		return s.Inline, nil
	}
	return "", ErrNoSecret
}

// String describes the source: "env:NAME", "file:/path", "inline:[redacted]"
// or "none".
func (s Secret) String() string {
	switch {
	case s.FromEnv != "":
		return "env:" + s.FromEnv
	case s.FromFile != "":
		return "file:" + s.FromFile
	case s.Inline != "":
		return "inline:[redacted]"
	}
	return "none"
}

// GoString is String, so that %#v does not print the value either.
func (s Secret) GoString() string { return "httpapi.Secret(" + s.String() + ")" }

// MarshalJSON writes the description, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
