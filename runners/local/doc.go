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
// step. Matrix rows are split over the pool, whose workers spin for up to
// 100µs between loops rather than park (a step is dozens of short loops, and
// waking a parked thread costs as much as a small matrix product); a step
// allocates nothing.
// Sampling is greedy (temperature 0), or temperature with optional top-k
// and top-p, from a seeded xorshift generator (llama2.c's), so a request
// with a seed (or any request, when Config.Seed is set) is reproducible. Generation ends at EOS (or BOS, which starts
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
// On amd64 CPUs with AVX2 and FMA the matrix kernels are assembly
// (kernels_amd64.s: 8-wide fp32 multiply-adds; for Q8_0, int8 weights
// sign-extended and multiplied pairwise with int16 activations, or, on CPUs
// with AVX-512 VNNI, byte dot products over matrices repacked at load so
// that one dot product leaves eight groups' sums in eight lanes: see
// q8acts.go); elsewhere, or built with -tags purego, portable Go kernels
// run (8-way unrolled fp32 dot products, 4-way int8×int16 group dot
// products). Kernels reports which. The SwiGLU gate and softmax use an
// 8-wide exponential within 1 ulp of math.Exp (portable: math.Exp).
// A batched step multiplies each pair of weight rows with every group of
// four sequences while the rows are in L1 (wide rows, and Q8_0 blocks, are
// first read into the cache at streaming speed: a core here streams only
// ~8 GB/s while it also runs the multiply-adds); every sequence's sums keep
// the order they have alone, so a sequence's output does not depend on its
// batch mates. Attention takes a sequence's heads through the KV cache 16
// positions at a time. The SwiGLU gate is applied by the worker that
// computed the rows. Q8_0 checkpoints quantize activations per group, as
// llama2.c's runq.c; the VNNI kernels keep a repacked copy of each Q8_0
// matrix (the checkpoint's bytes are then no longer read).
//
// # Performance
//
// Benchmarks (random weights in the stories15M/110M shapes, greedy, 128
// tokens from BOS) report tok/s, tok/cpu-s (tokens per CPU-second, stable
// on a shared machine), the bytes a step reads, the read bandwidth
// measured in the same run and efficiency = tok/s × bytes per step ÷
// bandwidth:
//
//	go test -run '^$' -bench Decode -benchtime 2x ./runners/local
//	go test -tags purego -run '^$' -bench Decode -benchtime 2x ./runners/local   # portable kernels
//
// BenchmarkBatchGain decodes one sequence and eight batched alternately
// and reports gain = batched tok/s ÷ single tok/s (the machine's memory
// bandwidth drifts between runs, which moves the single-sequence rate):
//
//	go test -run '^$' -bench BatchGain -benchtime 4x ./runners/local
//
// A decode step allocates nothing; streaming allocates one TokenChunk per
// token. Weights are memory-mapped: replacing or truncating a checkpoint
// file while a runner uses it is not supported.
package local
