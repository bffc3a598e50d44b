// Package local is the pure-Go CPU runtime: a llama2.c-architecture
// (Llama 2 family) transformer with its SentencePiece-style tokenizer and
// sampler, served through the runners.ModelRunner contract.
//
// # Checkpoints
//
// LoadModel reads llama2.c checkpoints — v0 (the legacy fp32 format of the
// published stories*.bin; a negative vocab_size marks an untied
// classifier), v1 ("ak42" header, fp32) and v2 (Q8_0: int8 weights with one
// fp32 scale per group) — and GGUF v2/v3 files with general.architecture
// llama, F32, F16 or Q8_0 tensors and the SPM vocabulary in the metadata.
// Weights are memory-mapped (read into memory where mmap is unavailable);
// every size is checked against the file before anything runs, and
// malformed or truncated files are refused. GGUF Q/K tensors are in the
// same RoPE layout as llama2.c (llama.cpp's "normal" rope rotates adjacent
// pairs; its converters undo the Hugging Face permutation), so they are
// used unchanged.
//
// # Tokenizer and prompts
//
// Tokenizer encodes exactly as llama2.c's run.c (BOS, a dummy-prefix
// space, code points with byte fallback, greedy best-score merges) and
// decodes <0xXX> byte tokens, dropping the leading space after BOS.
// Config.ChatTemplate chooses the prompt: TemplateNone (base models: BOS and
// the last user message verbatim, so greedy output equals llama2.c's) or
// TemplateLlama2 (the Llama-2-chat [INST] format).
//
// # Decoding
//
// A Runner owns one scheduler goroutine and a fixed pool of worker
// goroutines. Each decode step batches the current token of every active
// request (up to Config.MaxBatch) into one pass over the weights; requests
// join and leave between steps, and a cancelled request stops at its next
// step. Matrix rows are split over the pool; a step allocates nothing.
// Sampling is greedy (temperature 0), or temperature with optional top-k
// and top-p, from a seeded xorshift generator (llama2.c's), so a request
// with a seed is reproducible. Generation ends at EOS (or BOS, which starts
// a new story in llama2.c models), at a stop string, at max_tokens or at
// the end of the context.
//
// # Streams
//
// Execute streams one messages.TokenChunk per generated token. A token that
// ends inside a UTF-8 character streams empty text until the character is
// complete; text that may begin a stop string is held back until decided.
// The last chunk carries the finish reason and usage (input: prompt tokens
// including BOS; output: generated tokens including a final EOS).
//
// # Kernels
//
// The default build uses portable unrolled Go kernels. Built with
// GOEXPERIMENT=simd on amd64, AVX2/FMA kernels from simd/archsimd are used
// when the CPU has them.
package local
