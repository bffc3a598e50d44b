// Package anthropic is a runners.ModelRunner for the Anthropic Messages API
// (POST {endpoint}/v1/messages), unary and streamed over server-sent events.
// It speaks the wire format directly, without the provider's SDK, on the
// shared session of runners/httpapi (pooled client, timeouts, retries with
// full-jitter backoff, Retry-After, error classification, pricing).
//
// # Configuration
//
// Config embeds httpapi.Config: Endpoint (default https://api.anthropic.com),
// APIKey (sent as x-api-key; required; re-read by RebuildSession), Model,
// Timeouts, Retry, NonIdempotent, RateLimits, Pricing, Headers,
// DefaultMaxTokens and MaxSSELine. Its own fields are Version (the
// anthropic-version header, default 2023-06-01) and Beta (anthropic-beta
// flags). New validates a Config and resolves the credential; every
// RebuildSession resolves it again, so a rotated key file takes effect
// (RemoteAuthFailure). NewWithSource takes a Source instead, which
// RebuildSession also calls again, so a reloaded endpoint or timeout takes
// effect too (RemoteConfigChange). Requests in flight finish on the old
// session. Options carry the clock, a logger (an
// unknown price is logged once per session), the backoff jitter and the
// dialer.
//
// # Request mapping
//
//   - System messages, wherever they appear, become the top-level system
//     text blocks, in order.
//   - User text and image parts become text and image blocks: inline bytes
//     and data: URLs as base64 sources, http(s) URLs as url sources.
//   - Assistant tool_calls become tool_use blocks (arguments must be a JSON
//     object); tool messages become tool_result blocks in a user turn.
//     Consecutive turns of the same role are merged, so several tool
//     results (and a following user message) form one user message.
//   - max_tokens is the batch's, else Config.DefaultMaxTokens, else
//     DefaultMaxTokens (4096): the API requires it.
//   - temperature, top_p, top_k and stop (as stop_sequences) are passed
//     through; the API's own ranges apply (temperature is 0..1, not
//     OpenAI's 0..2) and out-of-range values come back as bad_request.
//     presence_penalty, frequency_penalty and seed have no Messages API
//     equivalent and are not sent. user becomes metadata.user_id.
//   - tools: OpenAI-style function tools become {name, description,
//     input_schema} (parameters, or an empty object schema); entries
//     already in Anthropic's shape (input_schema, or a typed server tool
//     such as web_search) pass through. Other tool types are unsupported.
//   - tool_choice: "auto" → auto, "required" → any, "none" → none, a named
//     function → {"type":"tool","name":…}; Anthropic-shaped objects pass
//     through. It is dropped when there are no tools.
//   - response_format: only text; json_object and json_schema are refused
//     as unsupported (the Messages API has no JSON mode), so that a router
//     can fall back.
//
// # Response mapping
//
// Streams: message_start gives the model and input usage (input_tokens,
// cache_read_input_tokens, cache_creation_input_tokens); text_delta becomes
// TokenChunk.Text; a tool_use block start becomes a ToolCallDelta with id,
// name and the tool call's ordinal as Index, its input_json_delta fragments
// ToolCallDelta.Arguments ("{}" for a tool called without input);
// thinking_delta becomes TokenChunk.Reasoning; signature_delta, ping and
// unknown events are ignored; message_delta gives stop_reason and the
// cumulative output usage; message_stop ends the stream with the final
// chunk. A body that ends before message_stop is a network error.
// Unary answers are one chunk with the same mapping.
//
// stop_reason: end_turn, stop_sequence, pause_turn → stop; max_tokens,
// model_context_window_exceeded → length; tool_use → tool_calls; refusal →
// content_filter, or a content_filtered error when nothing was produced
// (so that a fallback can take the request).
//
// Usage follows httpapi.Price.Cost: InputTokens = input_tokens +
// cache_read_input_tokens, CachedInputTokens = cache_read_input_tokens,
// CacheWriteTokens = cache_creation_input_tokens (priced at the cache-write
// rate). The final chunk carries the cost, or CostUnknown for a model
// missing from the price table without a Config.Pricing override.
//
// # Errors
//
// Error bodies {"type":"error","error":{"type":…,"message":…}} are
// classified by type: rate_limit_error → rate_limited (with Retry-After);
// overloaded_error (and status 529) and api_error → server_error,
// retryable; authentication_error → unauthorized, which runners.Classify
// reports as a RemoteAuthFailure session fault; permission_error and
// billing_error → forbidden; not_found_error → not_found;
// invalid_request_error → bad_request, or context_length_exceeded when the
// prompt does not fit; request_too_large → bad_request. HTML pages and
// other unreadable bodies are classified by status. An error event inside a
// stream is classified the same way: before the first chunk reaches the
// caller a retryable one (overloaded_error) re-sends the request under the
// retry policy; after it, it is delivered in-band with AfterFirstChunk set
// and the request is never re-run. The anthropic-ratelimit-* headers and
// retry hints go to the sink set by SetRateLimitSink
// (runners.RateLimitReporter).
package anthropic
