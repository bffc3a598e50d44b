// Package train trains the project's own small language model, so that a
// fresh checkout can serve real generated text with no downloads: a story
// corpus generator, a BPE tokenizer trainer, and a pure-Go trainer for the
// llama2.c architecture, writing files that runners/local loads.
//
// The pieces, in the order a run uses them:
//
//   - GenerateCorpus writes short, simple stories from templates and a
//     small grammar (characters, places, objects, feelings, cause and
//     effect, a line of dialogue), deterministically from a seed, and holds
//     out a validation split.
//   - TrainBPE learns a llama2.c vocabulary: <unk>, <s> (BOS), </s> (EOS),
//     the 256 byte tokens <0x00>..<0xFF> (ids 3..258, llama2.c's byte
//     fallback), every character of the corpus, then merged pieces scored
//     -merge_index so llama2.c's greedy best-score merging applies them in
//     the order they were learned. Tokenizer.WriteTo writes tokenizer.bin.
//   - Trainer runs the llama2.c model exactly as run.c computes it (token
//     embedding, RMSNorm with eps 1e-5, RoPE on pairs (2i, 2i+1) of each
//     head with frequency 1/10000^(2i/head_size), causal attention with
//     grouped KV heads, SwiGLU feed-forward w2(silu(w1·x) ⊙ w3·x), final
//     RMSNorm, classifier tied to the embedding), with a hand-written
//     backward pass checked against finite differences, mean cross-entropy,
//     AdamW (β1 0.9, β2 0.95, decay on matrices only), linear warmup and
//     cosine decay, and clipping by global gradient norm. A step's batch is
//     spread over a fixed pool of goroutines, one sequence per task, and
//     the per-sequence gradients are summed in a fixed order, so results do
//     not depend on the number of workers.
//   - Trainer.SaveState and ResumeTrainer checkpoint everything a run needs
//     (weights, AdamW moments, step, the batch sampler's RNG) so a resumed
//     run continues bit for bit.
//   - WriteCheckpoint writes a llama2.c v0 checkpoint (7-int header with a
//     positive vocab_size for the shared classifier, fp32 weights in run.c's
//     order, then the unused freq_cis tables).
//   - Decoder decodes greedily with a KV cache as run.c does, for samples.
//
// Float32 matrix kernels use AVX2 and FMA where the CPU has them (amd64),
// else portable Go. The model code is generic over float32 and float64;
// float64 exists for the gradient check.
//
// The `actorinfer train` command wires these together; see
// testdata/models/README.md for the command that produced the bundled
// demo model.
package train
