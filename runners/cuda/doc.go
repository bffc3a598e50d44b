// Package cuda is the GPU runtime: the llama-family model of runners/local
// (same checkpoints, tokenizer, prompts and sampler, reused from that
// package) with its forward pass as CUDA kernels, served through the
// runners.ModelRunner contract. It also implements runners.Healther.
//
// # Drivers
//
// Everything the runner needs from CUDA goes through the small Driver
// interface (contexts, PTX modules, device memory, launches). Two
// implementations exist:
//
//   - NewDriver, in a build with -tags cuda: the CUDA driver API through
//     gorgonia.org/cu. Only cu.go carries the tag (gorgonia.org/cu needs
//     cuda.h and libcuda to build, and exits the process at init when no
//     driver is installed), so the rest of the package, its tests included,
//     builds and runs anywhere.
//   - FakeDriver: device memory in Go slices and a Go implementation of each
//     kernel, with hooks to poison the context with a sticky error, fail
//     context creation and corrupt the canary. It makes the whole path —
//     load, decode, poison, rebuild, canary — testable on CPU.
//
// # Kernels
//
// kernels/*.cu (matvec, rmsnorm, rope, attention scores / softmax /
// values, swiglu, residual add, the canary and a trap) are compiled to PTX
// by scripts/gen-ptx.sh with Debian's clang, without the CUDA toolkit, and
// embedded (PTX, PTXForDevice). Debian 12's clang 14 targets sm_80 but not
// sm_90; sm_90 devices JIT-compile the sm_80 PTX. The same sources also
// build as C++ under kernels/hostemu (one thread per CUDA thread), where a
// test checks every kernel against double-precision loops without a GPU.
//
// # Sessions and faults
//
// A Runner owns one context. A dedicated goroutine, locked to its OS thread
// for its whole life, owns the context and makes every driver call; Execute,
// LoadWeights, RebuildSession and Healthy hand it work over a channel, so no
// call pays for a per-call hop onto a context thread (cu.Ctx.Do). It
// decodes the active requests (up to Config.MaxSequences) in turns of one
// token each; requests join and leave between tokens, and cancellation
// stops a request at its next token.
//
// Classify maps driver errors: sticky errors (700 illegal address, 702
// launch timeout, 710 assert, 714–719: hardware stack error, illegal
// instruction, misaligned address, invalid address space, invalid PC,
// launch failed — where a trap lands) lose the context. Every running
// request then fails with a *runners.SessionFault{Cause:
// CudaContextPoisoned}, and so does every later Execute, until
// RebuildSession destroys the context, creates a new one, reloads the
// module, uploads the weights again from the host copy and runs the canary
// kernel (2·x+1 over 256 values, checked exactly). A failed rebuild leaves
// the runner without a session; the RunnerActor then reports the replica
// unhealthy. Out of memory is unsupported (the request or model does not
// fit); other driver errors are internal.
//
// # Numerics
//
// The kernels compute in fp32 (quantized checkpoints are dequantized on
// upload); the RoPE tables are computed on the host exactly as
// runners/local computes them. On the FakeDriver greedy output equals
// runners/local's; on a device, reductions run in another order and exp is
// the hardware's, so logits differ in the last bits and long greedy runs
// may diverge at near-ties.
package cuda
