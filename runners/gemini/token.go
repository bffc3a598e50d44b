package gemini

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// Token is an OAuth access token for Vertex AI and when it expires (zero:
// unknown; it is then used until the provider refuses it).
type Token struct {
	Value  string
	Expiry time.Time
}

// TokenSource yields Vertex AI bearer tokens. Implementations must be safe
// for concurrent use; the runner caches the token until shortly before it
// expires, and asks again after a 401 and on every RebuildSession.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (Token, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// SecretToken is a TokenSource reading an access token from a secret (an
// environment variable or a file that something else keeps fresh), with no
// known expiry: it is re-read after a 401 and on RebuildSession.
type SecretToken struct{ Secret httpapi.Secret }

// Token resolves the secret.
func (s SecretToken) Token(context.Context) (Token, error) {
	v, err := s.Secret.Resolve()
	if err != nil {
		return Token{}, err
	}
	return Token{Value: v}, nil
}

// CommandToken is a TokenSource that runs a command printing an access
// token on its standard output, such as
// ["gcloud", "auth", "print-access-token"]. The token is taken to live for
// Lifetime (default 45 minutes; gcloud's tokens live an hour). The command's
// output is never logged; its standard error is quoted, capped, in errors.
type CommandToken struct {
	Argv     []string
	Lifetime time.Duration
	// Now is the clock for the expiry (time.Now when nil).
	Now func() time.Time
}

// DefaultTokenLifetime is CommandToken's default Lifetime.
const DefaultTokenLifetime = 45 * time.Minute

// Token runs the command.
func (c CommandToken) Token(ctx context.Context) (Token, error) {
	if len(c.Argv) == 0 {
		return Token{}, errors.New("gemini: token command is empty")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Token{}, fmt.Errorf("gemini: token command %q: %v: %s", c.Argv[0], err, httpapi.Sanitize(stderr.String(), 200))
	}
	v := strings.TrimSpace(stdout.String())
	if v == "" || strings.ContainsAny(v, " \t\r\n") {
		return Token{}, fmt.Errorf("gemini: token command %q printed no single token", c.Argv[0])
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	life := c.Lifetime
	if life <= 0 {
		life = DefaultTokenLifetime
	}
	return Token{Value: v, Expiry: now().Add(life)}, nil
}

// tokenSkew is how long before its expiry a cached token is renewed.
const tokenSkew = time.Minute

// tokenCache holds the current token of a TokenSource.
type tokenCache struct {
	src TokenSource
	now func() time.Time

	mu  sync.Mutex
	tok Token
}

// get returns a token that is not about to expire, fetching one when needed.
func (c *tokenCache) get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value != "" && (c.tok.Expiry.IsZero() || c.now().Add(tokenSkew).Before(c.tok.Expiry)) {
		return c.tok.Value, nil
	}
	t, err := c.src.Token(ctx)
	if err != nil {
		return "", err
	}
	if t.Value == "" {
		return "", errors.New("gemini: token source returned an empty token")
	}
	c.tok = t
	return t.Value, nil
}

// invalidate drops the cached token if it is still bad (so that concurrent
// 401s fetch one new token, not one each).
func (c *tokenCache) invalidate(bad string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bad == "" || c.tok.Value == bad {
		c.tok = Token{}
	}
}
