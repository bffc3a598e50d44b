// Package messages holds the protobuf wire types of actorinfer: every value
// that crosses an actor boundary, in one process or between cluster nodes.
//
// The Go code is generated from actorinfer.proto with `go generate
// ./messages` (protoc from Debian, protoc-gen-go v1.36.12) and committed, so
// a plain `go build` needs no protoc. The package holds no logic beyond
// making *Error an error and small helpers for PIDs and durations.
package messages
