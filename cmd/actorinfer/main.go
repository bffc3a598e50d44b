// Command actorinfer runs the actorinfer server and its tools.
//
//	actorinfer serve [--config FILE] [--listen ADDR] [--log-format text|json] [--log-level LEVEL]
//	actorinfer validate --config FILE
//	actorinfer train --out DIR [flags]
//	actorinfer version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set with -ldflags "-X main.version=..." in release builds.
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = serveCmd(ctx, rest, stdout, stderr)
	case "validate":
		err = validateCmd(rest, stdout, stderr)
	case "train":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = trainCmd(ctx, rest, stdout, stderr)
	case "bench":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = benchCmd(ctx, rest, stdout, stderr)
	case "bench-proxy":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err = benchProxyCmd(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "actorinfer: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "actorinfer %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(stderr, "actorinfer %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: actorinfer <command> [flags]

commands:
  serve      run the OpenAI-compatible gateway and the actor system
             (no --config: the embedded default config)
  validate   check a config file and exit
  train      train a small llama2.c-format model on the built-in story corpus
  bench      measure what the gateway adds over an upstream (latency, req/s per core, RSS)
  version    print the version
`)
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
		return fmt.Sprintf("actorinfer %s (%s)", v, bi.GoVersion)
	}
	return "actorinfer " + v
}

// newLogger builds the process logger from --log-format and --log-level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}
