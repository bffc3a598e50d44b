// Package fake is a deterministic in-memory ModelRunner for tests, examples
// and the demo: a real runner, not a mock, with hooks that inject the faults
// the actors must survive.
//
// # Answers
//
// The answer echoes the last user message (or whatever WithReply returns):
// each whitespace-separated word is one output token, streamed as one
// TokenChunk whose text is the word with the whitespace that precedes it, so
// that the chunks concatenate to the echoed text. Sampling.MaxTokens caps the
// answer (finish_reason length, 0 means the WithDefaultMaxTokens default) and
// the first Sampling.Stop sequence found truncates it (finish_reason stop).
// The last chunk carries the finish reason, Usage (input tokens: the words of
// every message; output tokens: the words generated) and the cost computed
// from WithPrice. A non-streaming batch gets one chunk with the whole text.
//
// EstimateCostUSD prices the input words plus the effective max_tokens at the
// output price, so it is never below the cost a stream reports.
//
// # Time
//
// WithTokenDelay makes each token wait on the runner's clock (WithClock; a
// clock.Fake in tests). Streams with a delay, or started while the runner is
// stalled, are produced by a goroutine through a runners.Pipe; the others
// are computed lazily on Recv with no goroutine, which keeps Execute cheap
// for benchmarks. Either way, cancelling the request's context stops the
// stream at its next token with a cancelled error (timeout on a deadline),
// and Close releases everything the stream holds.
//
// # Faults
//
// Every hook is safe for concurrent use and may be called at any time; it
// affects Execute calls made after it returns (PoisonContext also fails
// streams already running, at their next token):
//
//   - FailNth, FailFrom: fail one call, or every call from the Nth on.
//   - RateLimitNext: the next k calls fail with rate_limited and a retry hint.
//   - PoisonContext: every call fails with cuda_context_poisoned until
//     RebuildSession(CudaContextPoisoned) (or Manual).
//   - ExpireAuth: every call fails with unauthorized until
//     RebuildSession(RemoteAuthFailure) (or RemoteConfigChange, or Manual).
//   - FailRebuild: RebuildSession itself fails, leaving the replica broken.
//   - FailHealth: the Healthy probe fails after an otherwise good rebuild.
//   - Stall, StallAfter, Release: streams stop producing until released or
//     cancelled.
//   - CutAfter, CutAfterWith: the next stream fails in-band after k chunks.
//   - SetFaultStage: injected call failures surface from Execute (the
//     default) or from the first Recv of an otherwise normal handle.
//   - Heal: clear every fault.
//
// The runner implements the optional runners.Healther (Healthy reports the
// session faults above) and runners.RateLimitReporter (ReportRateLimit sends
// feedback to the registered sink; WithRateLimitFeedback adds the retry hint
// of every injected 429).
//
// Counters (Executes, Rebuilds, RebuildCounts, InFlight, Open) and the
// OnExecute callback and WaitExecutes let tests observe the runner without
// sleeping.
package fake
