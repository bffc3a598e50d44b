package config

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// defaultTOML is the out-of-box config `actorinfer serve` uses without --config.
//
//go:embed default.toml
var defaultTOML []byte

// DefaultTOML returns the embedded default config file's text.
func DefaultTOML() []byte { return append([]byte(nil), defaultTOML...) }

// Default returns the embedded default config: one node on
// 127.0.0.1:8080 and one deployment, "demo". Each call returns a fresh copy.
// It panics if the embedded file is invalid, which its test rules out.
func Default() *Config {
	c, err := Parse(defaultTOML, "default.toml")
	if err != nil {
		panic(fmt.Sprintf("config: embedded default.toml is invalid: %v", err))
	}
	return c
}

// Options change how Parse and Load treat a file. The zero value is what
// the server uses.
type Options struct {
	// AllowInlineSecrets accepts { value = "..." } secret references. For
	// tests only: a credential written in a config file ends up in
	// backups, repositories and support tickets.
	AllowInlineSecrets bool
	// SkipSecretResolution checks each secret reference's shape but does
	// not read environment variables or files: for checking a config on a
	// machine that does not hold the secrets (`validate` in CI, docs tests).
	SkipSecretResolution bool
}

// Load reads and parses the config file at path with the zero Options.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith reads and parses the config file at path. A file that cannot be
// read is reported as the wrapped *os.PathError (errors.Is(err,
// fs.ErrNotExist) works); everything else as in ParseWith.
func LoadWith(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseWith(data, path, opts)
}

// Parse parses a config file's text with the zero Options; source names it
// in errors. See ParseWith.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWith(data, source, Options{})
}

// ParseWith parses a config file's text, applies defaults and validates
// it. It returns the Config, or nil and every problem found (the
// errors.Join of *FieldError, each naming the key): TOML syntax, unknown
// keys, wrong types, explicit zeros that would silently become defaults,
// and everything Validate checks.
func ParseWith(data []byte, source string, opts Options) (*Config, error) {
	p := &problems{source: source}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		p.addErr(syntaxError(err))
		return nil, p.err()
	}
	c := &Config{Source: source}
	d := &decoder{p: p}
	d.table("", raw, reflectValue(c))

	if !opts.AllowInlineSecrets {
		for _, s := range c.secretsWithKeys() {
			if s.fromTOML {
				p.add(s.key, ErrSecret, "inline secret values are for tests only; use { from_env = \"NAME\" } or { from_file = \"/path\" }")
			}
		}
	}
	c.ApplyDefaults()
	for _, z := range d.zeros {
		if !z.v.IsZero() {
			p.add(z.path, ErrOutOfRange, "explicit %s is not allowed: omit the key for the default %s", zeroWord(z.v), fmtValue(z.v))
		}
	}
	c.validate(p, !opts.SkipSecretResolution)
	if len(p.list) > 0 {
		return nil, p.err()
	}
	return c, nil
}

// secretsWithKeys returns every secret set in c, after stamping keys.
func (c *Config) secretsWithKeys() []Secret {
	c.ApplyDefaults()
	return c.secrets()
}

func zeroWord(v reflect.Value) string {
	switch {
	case v.Type() == reflect.TypeOf(Duration(0)):
		return `"0s"`
	case v.Kind() == reflect.String:
		return `""`
	case v.Kind() == reflect.Bool:
		return "false"
	}
	return "0"
}

func fmtValue(v reflect.Value) string {
	switch {
	case v.Type() == reflect.TypeOf(Duration(0)):
		return strconv.Quote(v.Interface().(Duration).String())
	case v.Kind() == reflect.String:
		return strconv.Quote(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// reflectValue returns the settable struct c points to.
func reflectValue(c *Config) reflect.Value { return reflect.ValueOf(c).Elem() }

// syntaxError turns a toml parse error into a FieldError with its position.
func syntaxError(err error) *FieldError {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Position.Line > 0 {
			msg = fmt.Sprintf("line %d, column %d: %s", pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return &FieldError{Path: pe.LastKey, Kind: ErrSyntax, Problem: msg, Err: err}
	}
	return &FieldError{Kind: ErrSyntax, Problem: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
}
