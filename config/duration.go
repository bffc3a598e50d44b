package config

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written in the config as a Go duration string
// ("750ms", "30s", "1m30s", "10m"). Bare numbers are refused: "30" could mean
// seconds or nanoseconds. The zero value means "the documented default" for
// the key that holds it.
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String returns d in Go duration syntax, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText returns d in Go duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("must be a Go duration string like \"30s\" or \"1m30s\", got %q", text)
	}
	*d = Duration(v)
	return nil
}
