package cuda

import (
	"fmt"

	"github.com/actorinfer/actorinfer/runners/local"
)

// Config configures a Runner. The zero value of every field but ModelPath
// means its documented default.
type Config struct {
	// ModelPath is the checkpoint, in any format runners/local loads
	// (llama2.c v0/v1/v2, GGUF); quantized weights are dequantized to fp32
	// on upload.
	ModelPath string
	// TokenizerPath is a llama2.c tokenizer.bin; optional for GGUF.
	TokenizerPath string
	// Device is the CUDA device ordinal (default 0).
	Device int
	// MaxSequences is the most requests decoded at once, in turns of one
	// token each (default 8); further requests wait their turn.
	MaxSequences int
	// ContextLength is the positions per sequence, prompt included
	// (default and maximum: the model's trained sequence length).
	ContextLength int
	// ChatTemplate is local.TemplateNone (default) or local.TemplateLlama2.
	ChatTemplate string
	// Model is the model id reported on the last chunk (default: the
	// checkpoint's file name).
	Model string
	// Seed seeds the sampler of requests without a seed; 0 draws a fresh
	// seed per request.
	Seed int64
}

// Validate refuses impossible settings. It does not open any file.
func (c Config) Validate() error {
	switch {
	case c.ModelPath == "":
		return fmt.Errorf("cuda: model_path is required")
	case c.Device < 0:
		return fmt.Errorf("cuda: device %d is negative", c.Device)
	case c.MaxSequences < 0 || c.MaxSequences > 256:
		return fmt.Errorf("cuda: max_batch %d out of range (0..256)", c.MaxSequences)
	case c.ContextLength < 0:
		return fmt.Errorf("cuda: context_length %d is negative", c.ContextLength)
	}
	switch c.ChatTemplate {
	case "", local.TemplateNone, local.TemplateLlama2:
	default:
		return fmt.Errorf("cuda: chat_template %q (want %q or %q)", c.ChatTemplate, local.TemplateNone, local.TemplateLlama2)
	}
	return nil
}

func (c Config) maxSequences() int {
	if c.MaxSequences > 0 {
		return c.MaxSequences
	}
	return 8
}
