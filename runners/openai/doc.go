// Package openai is the runners.ModelRunner for the Chat Completions API
// (POST {endpoint}/chat/completions) of OpenAI, Azure OpenAI
// ({endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…)
// and any OpenAI-compatible server (LiteLLM, vLLM, llama.cpp server…),
// selected by Config.Runtime.
//
// The request's model is Config.Model (the provider's model id), never the
// batch's client-facing model name. Execute returns once a 2xx status has
// arrived, after httpapi.Session.Do's retries and backoff (so it may block
// for the backoff; the RunnerActor calls it off its mailbox goroutine).
//
// Wire format: hand-written types for the documented chat.completion and
// chat.completion.chunk objects. Messages map role for role; multi-part
// content becomes text and image_url parts (inline image bytes become data
// URLs); prior tool calls and tool results are passed as tool_calls and
// tool_call_id; tools, tool_choice and response_format are passed through
// as raw JSON.
//
// Streaming follows the batch: a streaming batch is sent with "stream": true
// and stream_options.include_usage, and every SSE chunk with text, reasoning
// or tool-call deltas becomes a TokenChunk; a unary batch gets one chunk.
// The last chunk carries the finish reason, the usage (cached tokens from
// prompt_tokens_details, reasoning tokens from completion_tokens_details)
// and the cost. A server that reports no usage gets it estimated
// (Usage.Estimated). An "error" object or event inside a stream is an
// error, never an empty chunk; a stream that ends before its finish reason
// is an error, never a complete-looking answer.
//
// Errors are *messages.Error, classified by httpapi's tables: 401 is
// unauthorized (a session fault: the supervisor calls RebuildSession, which
// re-reads the key, and retries once); Azure's content filter (400 with code
// content_filter, or finish_reason content_filter before any output) is
// content_filtered; 429 and 5xx are retried by httpapi.Session.Do and then
// returned as rate_limited / server_error with the provider's retry hint.
//
// Credentials: OpenAI and compatible servers get "Authorization: Bearer";
// Azure gets the "api-key" header, or a bearer Entra ID token with
// Auth = AzureAuthEntra.
//
// The Runner implements runners.RateLimitReporter: every response's
// x-ratelimit-* headers reach the sink registered by the RunnerActor.
package openai
