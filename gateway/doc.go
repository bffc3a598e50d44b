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
// everything else counted as "other" (and a request that never reached a
// deployment as "none").
//
// Requests may carry scheduling hints in headers (HeaderPriority,
// HeaderTier, HeaderMaxCostUSD); responses carry x-request-id (the client's
// when it sent a sane one) and x-actorinfer-deployment (who served it).
//
// # Request decoding
//
// The request body is decoded by a hand-written parser (no reflection) that
// accepts exactly what encoding/json would, fills the same fields, and names
// the offending parameter in every 400 ("messages[2].content[0].type"). A
// differential fuzz test holds it to encoding/json.
//
// # Metrics
//
// Per request (labels deployment, model; bounded):
//
//	actorinfer_gateway_requests_total{status_class}        2xx, 3xx, 4xx (499: client gone), 5xx
//	actorinfer_gateway_request_duration_seconds{stream}    arrival to last byte
//	actorinfer_gateway_time_to_first_token_seconds
//	actorinfer_gateway_inter_token_seconds
//	actorinfer_gateway_tokens_total{kind}                  input, output, cached_input, reasoning
//	actorinfer_gateway_cost_usd_total
//	actorinfer_gateway_stream_errors_total{code}           in-band failures after the first byte
//	actorinfer_gateway_in_flight_requests                  (no labels)
//	actorinfer_gateway_overhead_seconds{stream}            time in the gateway's own code: wall time
//	                                                       minus time blocked in Execute and Recv
//
// Read from Backend.DeploymentStates at scrape time (label deployment):
// actorinfer_deployment_{state_up,healthy,queue_depth,queue_size,in_flight,
// max_concurrent,throttle_factor}, actorinfer_replica_{healthy,restarts_total,
// last_rebuild_info{cause}}, actorinfer_limiter_{in_use,waiting,granted_total,
// rejected_total,requests_per_minute{kind},tokens_per_minute{kind},
// concurrent_limit,paused_until_seconds}, actorinfer_budget_{spent_usd,cap_usd,
// remaining_usd,resets_at_seconds}{window}, actorinfer_budget_{reserved_usd,
// rejected_total,throttled}, actorinfer_breaker_state{state},
// actorinfer_breaker_{trips_total,consecutive_failures}.
package gateway
