package openai

import (
	"errors"
	"fmt"

	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// DefaultEndpoint is OpenAI's API base URL.
const DefaultEndpoint = "https://api.openai.com/v1"

// DefaultAzureAPIVersion is the api-version sent to Azure OpenAI when none is
// configured (the GA version the official SDKs default to).
const DefaultAzureAPIVersion = "2024-10-21"

// AzureAuth names how an Azure OpenAI deployment authenticates.
type AzureAuth string

// The Azure auth modes.
const (
	// AzureAuthAPIKey sends Config.APIKey in the api-key header (the default).
	AzureAuthAPIKey AzureAuth = "api-key"
	// AzureAuthEntra sends Config.Token as a Microsoft Entra ID bearer token.
	AzureAuthEntra AzureAuth = "entra"
)

// The request fields that carry max_tokens.
const (
	MaxCompletionTokens = "max_completion_tokens" // OpenAI and Azure (required by reasoning models)
	MaxTokens           = "max_tokens"            // LiteLLM, vLLM, llama.cpp and other compatible servers
)

// Config configures a Runner. It embeds the common HTTP runner
// configuration; the zero value of every field means its documented default.
type Config struct {
	httpapi.Config

	// Runtime selects the dialect: runners.RuntimeOpenAI (default),
	// RuntimeAzureOpenAI or RuntimeLiteLLM (any OpenAI-compatible server).
	// When empty it is inferred from Provider.
	Runtime runners.RuntimeKind

	// APIVersion is Azure's api-version query parameter (default
	// DefaultAzureAPIVersion). Azure only.
	APIVersion string
	// AzureDeployment is the Azure deployment name (default Model). Azure only.
	AzureDeployment string
	// Auth is AzureAuthAPIKey (default) or AzureAuthEntra. Azure only.
	Auth AzureAuth
	// Token is the Entra ID bearer token source (re-read on every session
	// rebuild, so an external refresher can rotate it). Azure with
	// AzureAuthEntra only.
	Token httpapi.Secret

	// Organization and Project are sent as OpenAI-Organization and
	// OpenAI-Project when set. OpenAI only.
	Organization string
	Project      string

	// MaxTokensField names the request field for max_tokens: MaxCompletionTokens
	// (default for OpenAI and Azure) or MaxTokens (default for LiteLLM and
	// compatible servers, which may not know the newer name).
	MaxTokensField string
}

// withDefaults returns c with the runtime, provider, endpoint and dialect
// defaults applied.
func (c Config) withDefaults() Config {
	if c.Runtime == "" {
		switch c.Provider {
		case runners.ProviderAzureOpenAI:
			c.Runtime = runners.RuntimeAzureOpenAI
		case runners.ProviderLiteLLM, runners.ProviderOpenAICompatible:
			c.Runtime = runners.RuntimeLiteLLM
		default:
			c.Runtime = runners.RuntimeOpenAI
		}
	}
	if c.Provider == "" {
		switch c.Runtime {
		case runners.RuntimeAzureOpenAI:
			c.Provider = runners.ProviderAzureOpenAI
		case runners.RuntimeLiteLLM:
			c.Provider = runners.ProviderLiteLLM
		default:
			c.Provider = runners.ProviderOpenAI
		}
	}
	if c.Runtime == runners.RuntimeOpenAI && c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.Runtime == runners.RuntimeAzureOpenAI {
		if c.APIVersion == "" {
			c.APIVersion = DefaultAzureAPIVersion
		}
		if c.AzureDeployment == "" {
			c.AzureDeployment = c.Model
		}
		if c.Auth == "" {
			c.Auth = AzureAuthAPIKey
		}
	}
	if c.MaxTokensField == "" {
		c.MaxTokensField = MaxCompletionTokens
		if c.Runtime == runners.RuntimeLiteLLM {
			c.MaxTokensField = MaxTokens
		}
	}
	return c
}

// Validate refuses impossible configurations with errors naming the field.
// It does not resolve secrets (building the session does).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("openai: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Runtime {
	case runners.RuntimeOpenAI, runners.RuntimeAzureOpenAI, runners.RuntimeLiteLLM:
	default:
		bad("runtime", "%q is not openai, azure-openai or litellm", c.Runtime)
	}
	if c.Runtime != runners.RuntimeOpenAI && c.Endpoint == "" {
		bad("endpoint", "is required for %s", c.Runtime)
	}
	azure := c.Runtime == runners.RuntimeAzureOpenAI
	if !azure && (c.APIVersion != "" || c.AzureDeployment != "" || c.Auth != "" || !c.Token.IsZero()) {
		bad("api_version/azure_deployment/auth/token", "are for azure-openai only")
	}
	if azure {
		switch c.Auth {
		case AzureAuthAPIKey:
			if c.APIKey.IsZero() {
				bad("api_key", "is required with auth %q", c.Auth)
			}
		case AzureAuthEntra:
			if c.Token.IsZero() {
				bad("token", "is required with auth %q", c.Auth)
			}
		default:
			bad("auth", "%q is not api-key or entra", c.Auth)
		}
		if c.Organization != "" || c.Project != "" {
			bad("organization/project", "are for openai only")
		}
	}
	if c.Runtime == runners.RuntimeOpenAI && c.Endpoint == DefaultEndpoint && c.APIKey.IsZero() {
		bad("api_key", "is required for %s", DefaultEndpoint)
	}
	if err := c.Token.Validate(); err != nil {
		bad("token", "%v", err)
	}
	if c.MaxTokensField != MaxCompletionTokens && c.MaxTokensField != MaxTokens {
		bad("max_tokens_field", "%q is not %s or %s", c.MaxTokensField, MaxCompletionTokens, MaxTokens)
	}
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Source returns the runner's current configuration. The runner calls it at
// construction and on every RebuildSession, so a changed endpoint, timeout
// or credential source takes effect on the next session.
type Source func() (Config, error)

// Static returns a Source that always returns cfg.
func Static(cfg Config) Source { return func() (Config, error) { return cfg, nil } }
