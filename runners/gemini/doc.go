// Package gemini is a runners.ModelRunner for Google's Gemini models, on
// the Gemini API (AI Studio: {endpoint}/v1beta/models/{model}:generateContent
// and :streamGenerateContent?alt=sse, key in x-goog-api-key) or on Vertex AI
// ({endpoint}/v1/projects/{project}/locations/{location}/publishers/google/
// models/{model}:…, Authorization: Bearer from a TokenSource). It speaks the
// wire format directly, without Google's SDKs, on the shared session of
// runners/httpapi (pooled client, timeouts, retries with full-jitter
// backoff, error classification, pricing).
//
// # Configuration
//
// Config embeds httpapi.Config (Endpoint, APIKey, Model, Timeouts, Retry,
// NonIdempotent, RateLimits, Pricing, Headers, DefaultMaxTokens,
// MaxSSELine) and adds Vertex, Project, Location, Token, APIVersion and
// MaxOutputTokens; see their comments for defaults. Vertex tokens come from
// a TokenSource: SecretToken (a token kept fresh in an environment variable
// or file by something else), CommandToken (for example
// gcloud auth print-access-token, with an assumed lifetime) or TokenFunc.
// The runner caches the token until a minute before its expiry; a 401 drops
// it and the request is sent once more with a fresh one; a second 401 is an
// unauthorized error (a RemoteAuthFailure session fault), and
// RebuildSession fetches anew. New validates a Config and resolves the
// credential; every RebuildSession resolves it again (a rotated key file
// takes effect). NewWithSource takes a Source instead, which RebuildSession
// also calls again, so a reloaded endpoint or timeout takes effect too
// (RemoteConfigChange). Requests in flight finish on the old session. Options carry the clock,
// a logger (an unknown price is logged once per session), the backoff
// jitter and the dialer.
//
// # Request mapping
//
//   - system messages → systemInstruction parts; user → role "user";
//     assistant → role "model"; consecutive turns of one role are merged.
//   - assistant tool_calls → functionCall parts {name, args}; tool messages
//     → functionResponse parts {name, response} in a user turn, the name
//     found from the call id among the earlier assistant turns (or the
//     message's name); response is the tool output when it is a JSON
//     object, else {"content": output}.
//   - images: inline bytes and data: URLs → inlineData; http(s) and gs://
//     URLs → fileData with the image's media_type or one guessed from the
//     URL's extension (refused when neither is known).
//   - generationConfig: temperature, topP, topK, maxOutputTokens (the
//     batch's max_tokens, else Config.MaxOutputTokens, else none), stop →
//     stopSequences, seed, presencePenalty, frequencyPenalty.
//   - response_format: json_object → responseMimeType application/json;
//     json_schema → the same plus responseSchema, reduced to the OpenAPI
//     subset Gemini accepts (unknown keywords such as additionalProperties
//     and $schema dropped; type lists with "null" become nullable).
//   - tools: OpenAI-style function tools → one {"functionDeclarations":…}
//     (parameters cleaned the same way; omitted for a function without
//     parameters); Gemini-native tool objects (googleSearch, codeExecution,
//     functionDeclarations) pass through; other tool types are
//     unsupported. tool_choice: auto → AUTO, none → NONE, required → ANY,
//     a named function → ANY with allowedFunctionNames.
//
// # Response mapping
//
// Each SSE data event (and the unary body) is a GenerateContentResponse; the
// first candidate is read. Text parts → TokenChunk.Text; parts marked
// thought → TokenChunk.Reasoning; functionCall parts → complete
// ToolCallDeltas (Gemini sends calls whole) with the provider's id or
// call_<n>. A thoughtSignature on a call travels in its id as
// "<id>__thought__<signature>" and is sent back on the functionCall part
// when the conversation continues (thinking models require it). The stream has no terminator: it is complete when a
// finishReason has been seen and the body ends; a body that ends without
// one is a cut (server_error). The final chunk carries the finish reason,
// usage and cost.
//
// finishReason: STOP → stop (tool_calls when the answer made calls);
// MAX_TOKENS → length; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT,
// SPII and the IMAGE_* variants → content_filter, or a content_filtered
// error when nothing was produced; MALFORMED_FUNCTION_CALL and
// UNEXPECTED_TOOL_CALL with nothing produced → a retryable server_error;
// others → stop. promptFeedback.blockReason
// without candidates → content_filtered error.
//
// usageMetadata: InputTokens = promptTokenCount + toolUsePromptTokenCount,
// CachedInputTokens = cachedContentTokenCount, OutputTokens =
// candidatesTokenCount + thoughtsTokenCount, ReasoningTokens =
// thoughtsTokenCount.
//
// # Errors
//
// {"error":{"code","message","status","details"}} bodies are classified by
// status: RESOURCE_EXHAUSTED → rate_limited with the
// google.rpc.RetryInfo retryDelay as the retry hint (waited out by the
// retry loop, or returned at once when longer than the policy allows);
// UNAUTHENTICATED and "API key not valid" (AI Studio's 400) → unauthorized
// (a RemoteAuthFailure session fault); PERMISSION_DENIED → forbidden;
// NOT_FOUND → not_found; INVALID_ARGUMENT and FAILED_PRECONDITION →
// bad_request, or context_length_exceeded for "exceeds the maximum number
// of tokens"; UNAVAILABLE and INTERNAL → server_error; DEADLINE_EXCEEDED →
// timeout. HTML pages and other unreadable bodies are classified by HTTP
// status. An error object inside a stream is classified the same way:
// before the first chunk a retryable one re-sends the request under the
// retry policy; after it, it is delivered in-band with AfterFirstChunk set.
// Retry hints of 429s go to the sink set by SetRateLimitSink.
package gemini
