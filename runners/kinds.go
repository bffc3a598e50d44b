package runners

import "fmt"

// RuntimeKind names a runtime as the config's `runtime` key spells it.
type RuntimeKind string

// The runtimes actorinfer knows.
const (
	RuntimeOpenAI      RuntimeKind = "openai"
	RuntimeAzureOpenAI RuntimeKind = "azure-openai"
	RuntimeAnthropic   RuntimeKind = "anthropic"
	RuntimeGemini      RuntimeKind = "gemini"
	RuntimeLiteLLM     RuntimeKind = "litellm"
	RuntimeLocal       RuntimeKind = "local"
	RuntimeCUDA        RuntimeKind = "cuda"
	RuntimeFake        RuntimeKind = "fake"
)

// ProviderKind names the remote provider behind a RemoteNetwork transport.
type ProviderKind string

// The providers actorinfer speaks to.
const (
	ProviderNone             ProviderKind = ""
	ProviderOpenAI           ProviderKind = "openai"
	ProviderAzureOpenAI      ProviderKind = "azure-openai"
	ProviderAnthropic        ProviderKind = "anthropic"
	ProviderGemini           ProviderKind = "gemini"
	ProviderLiteLLM          ProviderKind = "litellm"
	ProviderOpenAICompatible ProviderKind = "openai-compatible"
)

// TransportClass is the shape of a TransportKind.
type TransportClass int

// The transport classes. The zero value is LocalCPU.
const (
	LocalCPU TransportClass = iota
	LocalGPU
	RemoteNetwork
)

// String returns "local_cpu", "local_gpu" or "remote_network".
func (c TransportClass) String() string {
	switch c {
	case LocalCPU:
		return "local_cpu"
	case LocalGPU:
		return "local_gpu"
	case RemoteNetwork:
		return "remote_network"
	}
	return fmt.Sprintf("TransportClass(%d)", int(c))
}

// TransportKind says where a runner's work runs: on this node's CPU, on this
// node's GPU, or at a remote provider over the network. The zero value is
// LocalCPU.
type TransportKind struct {
	Class    TransportClass
	Provider ProviderKind // set for RemoteNetwork only
}

// TransportLocalCPU, TransportLocalGPU and TransportRemote build TransportKinds.
func TransportLocalCPU() TransportKind { return TransportKind{Class: LocalCPU} }

// TransportLocalGPU is the transport of a runner owning a CUDA context.
func TransportLocalGPU() TransportKind { return TransportKind{Class: LocalGPU} }

// TransportRemote is the transport of a runner calling provider p over HTTP.
func TransportRemote(p ProviderKind) TransportKind {
	return TransportKind{Class: RemoteNetwork, Provider: p}
}

// String returns e.g. "local_cpu" or "remote_network(openai)".
func (t TransportKind) String() string {
	if t.Class == RemoteNetwork {
		return fmt.Sprintf("remote_network(%s)", t.Provider)
	}
	return t.Class.String()
}

// Role is the cluster node role that may host this transport: "gpu" for
// local runtimes (CPU and GPU alike), "egress" for remote providers.
func (t TransportKind) Role() string {
	if t.Class == RemoteNetwork {
		return "egress"
	}
	return "gpu"
}

// SessionRebuildCause says why a runner's session is rebuilt.
type SessionRebuildCause int

// The causes. The zero value is not a valid cause.
const (
	CauseUnknown SessionRebuildCause = iota
	CudaContextPoisoned
	RemoteAuthFailure
	RemoteConfigChange
	Manual
)

// String returns the cause in snake_case, as metrics label it.
func (c SessionRebuildCause) String() string {
	switch c {
	case CudaContextPoisoned:
		return "cuda_context_poisoned"
	case RemoteAuthFailure:
		return "remote_auth_failure"
	case RemoteConfigChange:
		return "remote_config_change"
	case Manual:
		return "manual"
	}
	return "unknown"
}

// AllCauses lists the valid causes, for tables and metric pre-registration.
var AllCauses = []SessionRebuildCause{CudaContextPoisoned, RemoteAuthFailure, RemoteConfigChange, Manual}
