package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/gateway"
)

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func validateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return usageError{errors.New("--config FILE is required")}
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d deployments, %d routers)\n", *path, len(cfg.Deployments), len(cfg.Routers))
	return nil
}

// server is a running actorinfer: actor system, deployments and gateway.
type server struct {
	cfg      *config.Config
	logger   *slog.Logger
	system   *actor.ActorSystem
	host     *actors.Host
	registry *prometheus.Registry
	gateway  *gateway.Server
	http     *http.Server
	node     *clusterNode // nil: no [cluster]
}

// newServer is the composition root: it builds every runner, actor and the
// gateway from cfg. Nothing is listening yet.
func newServer(cfg *config.Config, logger *slog.Logger) (*server, error) {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := newObserver(registry)

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return actorLogger(logger)
	}))
	node := newClusterNode(cfg, system, logger)
	host := actors.NewHost(system, actors.HostOptions{Logger: logger, Observer: obs, Placement: node.placement()})
	s := &server{cfg: cfg, logger: logger, system: system, host: host, registry: registry, node: node}

	for i := range cfg.Deployments {
		d := &cfg.Deployments[i]
		spec, err := deploymentSpec(d, logger)
		if err != nil {
			system.Shutdown()
			return nil, fmt.Errorf("deployment %q: %w", d.Name, err)
		}
		if _, err := host.Spawn(spec); err != nil {
			system.Shutdown()
			return nil, err
		}
	}
	if err := node.start(); err != nil {
		system.Shutdown()
		return nil, err
	}

	for i := range cfg.Routers {
		r := &cfg.Routers[i]
		spec, err := routerSpec(r)
		if err != nil {
			system.Shutdown()
			return nil, fmt.Errorf("router %q: %w", r.Name, err)
		}
		if _, err := host.SpawnRouter(spec); err != nil {
			system.Shutdown()
			return nil, err
		}
	}

	keys := make([]string, 0, len(cfg.Server.APIKeys))
	for _, k := range cfg.Server.APIKeys {
		v, err := k.Resolve()
		if err != nil {
			system.Shutdown()
			return nil, err
		}
		keys = append(keys, v)
	}
	s.gateway = gateway.New(gateway.Options{
		APIKeys:        keys,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		Logger:         logger,
		Registry:       registry,
		RequestTimeout: cfg.Server.RequestTimeout.Duration(),
	}, &backend{host: host, cfg: cfg})
	s.http = &http.Server{
		Handler:           s.gateway,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Duration(),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// serve listens on ln until ctx ends, then shuts down gracefully: stop
// accepting, drain in-flight requests up to the shutdown timeout, stop the
// actors.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	s.logger.Info("actorinfer serving", "listen", ln.Addr().String(), "deployments", s.host.Names())
	select {
	case err := <-errc:
		s.stopActors()
		return err
	case <-ctx.Done():
	}
	timeout := s.cfg.Server.ShutdownTimeout.Duration()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s.logger.Info("shutting down: draining in-flight requests", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if err != nil {
		s.logger.Warn("drain deadline passed; closing remaining connections", "error", err)
		_ = s.http.Close()
	}
	s.stopActors()
	<-errc
	s.logger.Info("stopped")
	return nil
}

func (s *server) stopActors() {
	s.node.leave(s.cfg.Server.ShutdownTimeout.Duration()) // a cluster member shuts the system down as it leaves
	s.host.Close()
	if !s.system.IsStopped() {
		s.system.Shutdown()
	}
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (default: the embedded demo config)")
	listen := fs.String("listen", "", "override [server].listen")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	s, err := newServer(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		s.stopActors()
		return err
	}
	fmt.Fprintf(stdout, "actorinfer listening on http://%s (models: %v)\n", ln.Addr(), s.host.Names())
	return s.serve(ctx, ln)
}

// actorLogger gives protoactor the process logger, quietened: protoactor
// logs routine lifecycle events at info.
func actorLogger(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn}).With("lib", "protoactor")
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= h.min && h.Handler.Enabled(ctx, lv)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(g string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(g), h.min}
}
