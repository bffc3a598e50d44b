// Package gateway is actorinfer's OpenAI-compatible HTTP front door.
//
// A Server serves
//
//	POST /v1/chat/completions                 stream and non-stream (SSE), OpenAI's wire format
//	GET  /v1/models                           the callable model names (deployments and routers)
//	GET  /healthz                             the process is up
//	GET  /readyz                              every deployment has a healthy replica
//	GET  /metrics                             Prometheus, from the injected registry
//	GET  /admin/deployments                   every deployment's state
//	GET  /admin/deployments/{name}            one deployment: replicas, limiter, budget, breaker, queue
//	POST /admin/deployments/{name}/rebuild    rebuild every replica's session (cause Manual)
//	POST /admin/deployments/{name}/circuit    force the breaker open: {"open_for":"5m"}
//
// The gateway talks to the actor system only through the Backend interface,
// which the composition root implements over the actors; the gateway
// imports no actor package.
//
// Errors use OpenAI's JSON error shape with honest status codes (see
// statusFor): 400 bad request, 401 gateway auth, 404 unknown model, 413 body
// too large, 429 rate limited / backpressure / budget (with Retry-After), 502
// upstream failure, 503 circuit open or not ready (with Retry-After), 504
// timeout.
//
// Streaming commit boundary: nothing is written to the client until the
// backend yields its first chunk, so a failure before it (including a
// failover the backend could not complete) becomes a proper HTTP error
// status. After the first byte, a failure is sent in-band as a
// `data: {"error":{...}}` event, and the stream then ends without a
// finish_reason and without `data: [DONE]`, so it never looks complete.
//
// A client that disconnects cancels the request's context, which the
// Backend propagates down to the runner; the gateway also closes the
// stream's handle.
//
// API keys (Options.APIKeys) are compared in constant time and never
// logged; metric labels are bounded to the configured model names, with
// everything else counted as "other".
package gateway
