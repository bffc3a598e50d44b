// Package config reads actorinfer's TOML config file: the schema (Config and
// the types under it), the documented defaults, validation, and secret
// references.
//
// The file format is the user-facing contract of DESIGN §6; docs/config.md
// documents every key. A typical program calls Load (or Default for the
// embedded out-of-box config) and hands the result to the composition root:
//
//	cfg, err := config.Load("actorinfer.toml")
//	if err != nil {
//		// every problem, one per line, each naming its key
//	}
//
// Rules the package keeps:
//
//   - A zero value means the documented default; ApplyDefaults fills them
//     in. In a file, an explicit zero that would silently become a default
//     (replicas = 0, connect = "0s") is refused instead.
//   - Keys match exactly; an unknown key is an error naming its path.
//   - Validate collects every problem as a *FieldError (Path, Kind,
//     Problem) and joins them; it never warns and continues, and never
//     clamps. Kind is one of the Err sentinels, for errors.Is.
//   - Credentials are never in the file: a Secret references an
//     environment variable or a file, is resolved when needed, and prints
//     redacted. Inline { value = "..." } secrets are for tests only
//     (Options.AllowInlineSecrets).
//   - When runtime is omitted it is inferred from the model (InferRuntime).
//
// The runtime "fake" is the deterministic in-memory runner, for tests and
// the out-of-box demo.
//
// Config values are plain data and safe for concurrent reads once loaded.
package config
