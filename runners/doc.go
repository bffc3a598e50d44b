// Package runners defines the contract every model backend implements:
// ModelRunner, its RunHandle stream, the kinds that describe where a runner
// runs (RuntimeKind, TransportKind, ProviderKind), the limits and weight
// sources it declares, and the one error classifier the actors use to decide
// on retries, circuit breaking and session rebuilds.
//
// Implementations live in sibling packages (runners/openai, runners/local,
// runners/fake, ...) and import only this package and messages. The actors
// never import an implementation; the composition root hands them a
// ModelRunner.
//
// Optional capabilities are optional interfaces found by type assertion:
//
//   - RateLimitReporter: the runner reports provider rate-limit headers.
//   - Healther: the runner can answer a cheap health probe.
package runners
