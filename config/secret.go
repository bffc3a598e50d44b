package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSecretFileBytes bounds how much of a secret file Resolve reads; a
// credential is never this large, a mistyped path to a log file may be.
const maxSecretFileBytes = 64 << 10

// Secret is a reference to a credential, never the credential itself:
//
//	api_key = { from_env = "OPENAI_API_KEY" }
//	api_key = { from_file = "/run/secrets/openai" }
//
// A third form, { value = "..." }, holds the credential inline; Parse and
// Load refuse it unless Options.AllowInlineSecrets is set, which only tests
// should do. Go code builds Secrets with EnvSecret, FileSecret and
// InlineSecret.
//
// Resolve reads the credential when it is needed (and again after a runner
// rebuilds its session, so rotated files are picked up). Every way of
// printing a Secret (String, %v, %+v, %#v, MarshalText, MarshalJSON) shows
// where it comes from, never its value. The zero value is "no secret".
type Secret struct {
	// FromEnv names an environment variable holding the credential.
	FromEnv string
	// FromFile is a file holding the credential; surrounding whitespace
	// (a trailing newline) is trimmed.
	FromFile string

	value    string // inline credential; tests only
	hasValue bool
	fromTOML bool   // the inline value came from a parsed file
	declared bool   // written in a parsed file as an empty table, {}
	key      string // the key that holds it, for error messages
}

// EnvSecret returns a Secret read from the environment variable name.
func EnvSecret(name string) Secret { return Secret{FromEnv: name} }

// FileSecret returns a Secret read from the file at path.
func FileSecret(path string) Secret { return Secret{FromFile: path} }

// InlineSecret returns a Secret holding value itself. It exists for tests and
// examples; production configs reference the environment or a file.
func InlineSecret(value string) Secret { return Secret{value: value, hasValue: true} }

// IsZero reports whether s references nothing.
func (s Secret) IsZero() bool { return s.FromEnv == "" && s.FromFile == "" && !s.hasValue }

// IsInline reports whether s holds its value inline.
func (s Secret) IsInline() bool { return s.hasValue }

// Key returns the config key that holds s (e.g. `deployment[0] ("gpt-4o").api_key`),
// set by ApplyDefaults; empty for a Secret not yet placed in a Config.
func (s Secret) Key() string { return s.key }

// Resolve returns the credential. Its errors are *FieldError of kind
// ErrSecret naming the key and the environment variable or file, never the
// value. An unset or empty variable, an unreadable, oversized or empty file,
// and a zero Secret are errors.
func (s Secret) Resolve() (string, error) {
	fail := func(cause error, format string, args ...any) (string, error) {
		return "", &FieldError{Path: s.key, Kind: ErrSecret, Problem: fmt.Sprintf(format, args...), Err: cause}
	}
	switch {
	case s.sources() > 1:
		return fail(nil, "set exactly one of from_env, from_file and value")
	case s.hasValue:
		if s.value == "" {
			return fail(nil, "inline secret value is empty")
		}
		return s.value, nil
	case s.FromEnv != "":
		v, ok := os.LookupEnv(s.FromEnv)
		if !ok {
			return fail(nil, "environment variable %s is not set", s.FromEnv)
		}
		if strings.TrimSpace(v) == "" {
			return fail(nil, "environment variable %s is empty", s.FromEnv)
		}
		return v, nil
	case s.FromFile != "":
		f, err := os.Open(s.FromFile)
		if err != nil {
			return fail(err, "cannot open secret file %s: %v", s.FromFile, pathErrReason(err))
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
		if err != nil {
			return fail(err, "cannot read secret file %s: %v", s.FromFile, pathErrReason(err))
		}
		if len(data) > maxSecretFileBytes {
			return fail(nil, "secret file %s is larger than %d bytes", s.FromFile, maxSecretFileBytes)
		}
		v := strings.TrimSpace(string(data))
		if v == "" {
			return fail(nil, "secret file %s is empty", s.FromFile)
		}
		return v, nil
	}
	return fail(nil, "no secret reference: set { from_env = \"NAME\" } or { from_file = \"/path\" }")
}

// pathErrReason strips the path from an *os.PathError (the message names
// the file already).
func pathErrReason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s Secret) sources() int {
	n := 0
	if s.FromEnv != "" {
		n++
	}
	if s.FromFile != "" {
		n++
	}
	if s.hasValue {
		n++
	}
	return n
}

// String describes where the secret comes from: "env:NAME", "file:/path",
// "inline:[redacted]" or "none".
func (s Secret) String() string {
	var parts []string
	if s.FromEnv != "" {
		parts = append(parts, "env:"+s.FromEnv)
	}
	if s.FromFile != "" {
		parts = append(parts, "file:"+s.FromFile)
	}
	if s.hasValue {
		parts = append(parts, "inline:[redacted]")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Format prints String for every verb, so that %v, %+v, %#v and %s of a
// Secret, or of any struct holding one, never reveal the value.
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// GoString returns String.
func (s Secret) GoString() string { return s.String() }

// MarshalText returns String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON returns String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
