package config_test

import (
	"errors"
	"fmt"

	"github.com/actorinfer/actorinfer/config"
)

// Parse reports every problem at once, each naming its key.
func ExampleParse() {
	_, err := config.Parse([]byte(`
[[deployment]]
name = "gpt-4o"
endpoint = "http://localhost:4000/v1"
replicas = -1
[deployment.rate_limits]
requests_per_minute = -5
[deployment.retry]
max_retrys = 2
`), "actorinfer.toml")
	for _, p := range config.Problems(err) {
		fmt.Println(p)
	}
	fmt.Println(errors.Is(err, config.ErrUnknownKey))
	// Output:
	// actorinfer.toml: deployment[0] ("gpt-4o").retry.max_retrys: unknown key (did you mean "max_retries"?)
	// actorinfer.toml: deployment[0] ("gpt-4o").replicas: must be ≥ 1, got -1
	// actorinfer.toml: deployment[0] ("gpt-4o").rate_limits.requests_per_minute: must be ≥ 0, got -5
	// true
}

// A Secret prints where it comes from, never its value.
func ExampleSecret() {
	key := config.InlineSecret("sk-test-123")
	fmt.Println(key)
	fmt.Printf("%+v\n", config.Deployment{Name: "x", APIKey: config.EnvSecret("OPENAI_API_KEY")}.APIKey)
	// Output:
	// inline:[redacted]
	// env:OPENAI_API_KEY
}

// The embedded default config serves one demo deployment.
func ExampleDefault() {
	c := config.Default()
	fmt.Println(c.Server.Listen, c.Deployments[0].Name, c.Deployments[0].Runtime)
	// Output: 127.0.0.1:8080 demo local
}
