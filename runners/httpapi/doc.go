// Package httpapi is what the HTTP runners (runners/openai, runners/anthropic,
// runners/gemini) share: configuration, credentials, a pooled session with
// timeouts and retries, SSE decoding, error classification, rate-limit
// headers and pricing. It imports only runners, messages and internal/clock.
//
// API at a glance:
//
//   - Config, Timeouts, RetryPolicy: the common configuration of an HTTP
//     runner (endpoint, api key, model, provider label, timeouts, retries,
//     rate limits, pricing override, idempotency, extra headers). Zero
//     values mean the documented defaults; Validate refuses bad values.
//   - Secret{FromEnv, FromFile, Inline}: a credential source, resolved by
//     NewSession and so re-read on every session rebuild; it never prints
//     its value.
//   - NewSession(Config, SessionOptions) *Session: the resolved credential
//     (Key) and one pooled *http.Client. Session.Do(ctx, BuildFunc) sends a
//     request with the retry loop (exponential backoff with full jitter,
//     Retry-After honoured, sleeping on an injected clock) and returns a
//     *Response whose Body is under the first-token and idle timeouts;
//     Response.Err types read errors. Timeouts surface as code timeout with
//     Scope "connect", "first_token", "idle" or "total".
//   - NewSSEReader(io.Reader).Next() (Event, error): a spec-conformant,
//     bounded, allocation-free text/event-stream decoder.
//   - ErrorTable (NewErrorTable, FromResponse, FromBody), DefaultStatusCode,
//     ParseErrorBody, ReadErrorBody, Sanitize, Redact: provider error
//     responses to *messages.Error, per provider, without leaking secrets or
//     huge bodies.
//   - RetryAfter, ParseRetryAfterValue, ParseResetDuration,
//     RateLimitFeedback: retry hints and rate-limit headers of OpenAI, Azure
//     and Anthropic.
//   - Price, LookupPrice, PricesAsOf, EstimateCostUSD, EstimateInputTokens:
//     the built-in price table with family matching of dated model ids, and
//     the documented token approximation; Config.Price applies a
//     deployment override, the table, then a fallback price.
//
// Commit boundary: Do retries only until a 2xx response's headers arrive.
// Once the runner has handed a chunk to its caller, a failure is delivered
// in-band (messages.Error.AfterFirstChunk) and the request is never re-run.
package httpapi
