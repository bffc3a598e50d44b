package runners

import "fmt"

// RateLimits are the limits a remote deployment must respect. A zero field
// means "no limit" on that axis. The zero value means no limits at all.
type RateLimits struct {
	RequestsPerMinute  float64
	TokensPerMinute    float64
	ConcurrentRequests int
}

// IsZero reports whether no limit is set.
func (l *RateLimits) IsZero() bool {
	return l == nil || (l.RequestsPerMinute <= 0 && l.TokensPerMinute <= 0 && l.ConcurrentRequests <= 0)
}

// WeightSourceKind says where a local model's weights come from.
type WeightSourceKind int

// The weight sources.
const (
	// RuntimeManaged: the runtime knows its own weights (remote providers).
	RuntimeManaged WeightSourceKind = iota
	// LocalPath: a file on this node (Path, and TokenizerPath where needed).
	LocalPath
	// HuggingFace: a repository and revision on the Hugging Face hub. Not
	// fetched by actorinfer; resolve it to a LocalPath before starting.
	HuggingFace
)

// WeightSource names a model's weights. The zero value is RuntimeManaged.
type WeightSource struct {
	Kind          WeightSourceKind
	Path          string // LocalPath
	TokenizerPath string // LocalPath, optional
	Repo          string // HuggingFace
	Revision      string // HuggingFace
}

// String describes the source for logs and errors.
func (w WeightSource) String() string {
	switch w.Kind {
	case LocalPath:
		return "local:" + w.Path
	case HuggingFace:
		return fmt.Sprintf("hf:%s@%s", w.Repo, w.Revision)
	}
	return "runtime-managed"
}

// CudaContextHandle is an opaque reference to a CUDA context owned by a
// RunnerActor. The zero value means "no device" (CPU and remote runners).
type CudaContextHandle struct {
	// Device is the CUDA device ordinal.
	Device int
	// Ctx is the runtime's context value (a cu.CUContext under the cuda
	// build tag); nil when there is none.
	Ctx any
}
