package local

import (
	"fmt"
	"runtime"
)

// Chat templates for Config.ChatTemplate.
const (
	// TemplateNone: base models continue BOS followed by the last user
	// message verbatim (llama2.c stories models), so greedy output equals
	// the reference implementation's for the same prompt.
	TemplateNone = "none"
	// TemplateLlama2: the Llama-2-chat format. Each earlier exchange is
	// "<s>[INST] {user} [/INST] {assistant} </s>" and the conversation ends
	// with "<s>[INST] {user} [/INST]"; a system message is folded into the
	// first user turn as "<<SYS>>\n{system}\n<</SYS>>\n\n{user}".
	TemplateLlama2 = "llama2"
)

// Config configures a Runner. The zero value of every field but ModelPath
// means its documented default.
type Config struct {
	// ModelPath is the checkpoint: a llama2.c .bin (v0, v1, v2/Q8_0) or a
	// GGUF file (llama architecture, F32/F16/Q8_0).
	ModelPath string
	// TokenizerPath is a llama2.c tokenizer.bin. Required for .bin
	// checkpoints; optional for GGUF, whose vocabulary is used when empty.
	TokenizerPath string
	// Threads is the number of threads of the matrix kernels (default:
	// runtime.NumCPU()). While the runner decodes, its threads-1 workers
	// spin between matrix products; idle, they park.
	Threads int
	// MaxBatch is the most sequences decoded together in one pass over the
	// weights (default 8, at most 64). Further requests wait their turn.
	// Each batch slot, once used, keeps a KV cache of 2 × layers ×
	// ContextLength × kv_dim float32s (75 MiB for stories110M at 1024).
	MaxBatch int
	// ContextLength is the positions per sequence, prompt included
	// (default and maximum: the model's trained sequence length).
	ContextLength int
	// ChatTemplate is TemplateNone (default) or TemplateLlama2.
	ChatTemplate string
	// Model is the model id reported on the last chunk (default: the
	// checkpoint's file name).
	Model string
	// Seed seeds the sampler of requests that carry no seed, making
	// sampled output reproducible; 0 (default) draws a fresh seed per
	// request.
	Seed int64
}

// Validate refuses impossible settings. It does not open any file.
func (c Config) Validate() error {
	switch {
	case c.ModelPath == "":
		return fmt.Errorf("local: model_path is required")
	case c.Threads < 0 || c.Threads > 1024:
		return fmt.Errorf("local: threads %d out of range (0..1024)", c.Threads)
	case c.MaxBatch < 0 || c.MaxBatch > maxBatchLimit:
		return fmt.Errorf("local: max_batch %d out of range (0..%d)", c.MaxBatch, maxBatchLimit)
	case c.ContextLength < 0:
		return fmt.Errorf("local: context_length %d is negative", c.ContextLength)
	}
	switch c.ChatTemplate {
	case "", TemplateNone, TemplateLlama2:
	default:
		return fmt.Errorf("local: chat_template %q (want %q or %q)", c.ChatTemplate, TemplateNone, TemplateLlama2)
	}
	return nil
}

func (c Config) threads() int {
	if c.Threads > 0 {
		return c.Threads
	}
	return runtime.NumCPU()
}

func (c Config) maxBatch() int {
	if c.MaxBatch > 0 {
		return c.MaxBatch
	}
	return 8
}
