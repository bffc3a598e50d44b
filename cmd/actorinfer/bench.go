package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The bench command measures what the gateway adds on top of an upstream.
// It runs an OpenAI-compatible upstream in this process, and as separate
// processes pinned to one core (GOMAXPROCS=1): a bare
// net/http/httputil.ReverseProxy (the floor: one extra Go HTTP hop), and
// `actorinfer serve` with a litellm deployment on that upstream with the
// rate limiter, budget, breaker and metrics all on. It reports added
// latency p50/p99 at a fixed rate, max requests/s per core, CPU per request,
// streaming overhead and RSS.

const benchBody = `{"model":"bench","messages":[{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16}`
const benchStreamBody = `{"model":"bench","stream":true,"messages":[{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16}`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rate := fs.Int("rate", 1000, "fixed request rate for the latency phase (requests/s)")
	dur := fs.Duration("duration", 5*time.Second, "length of each phase")
	conc := fs.Int("concurrency", 32, "closed-loop workers for the throughput phase")
	profile := fs.String("gateway-cpuprofile", "", "write the gateway process's CPU profile here")
	memLimit := fs.String("gateway-gomemlimit", "", "GOMEMLIMIT for the gateway process (e.g. 40MiB)")
	gogc := fs.String("gateway-gogc", "", "GOGC for the gateway process")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	up := &benchUpstream{}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	upSrv := &http.Server{Handler: up}
	go upSrv.Serve(upLn)
	defer upSrv.Close()
	upURL := "http://" + upLn.Addr().String()

	dir, err := os.MkdirTemp("", "actorinfer-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "bench.toml")
	cfg := fmt.Sprintf(`[server]
listen = "127.0.0.1:0"
[[deployment]]
name = "bench"
model = "gpt-4o-mini"
runtime = "litellm"
endpoint = "%s/v1"
[deployment.rate_limits]
requests_per_minute = 100000000
tokens_per_minute = 100000000000
concurrent_requests = 100000
[deployment.budget]
max_spend_per_hour = 1000000.0
[deployment.pricing]
input = 0.15
output = 0.60
[deployment.serving]
max_concurrent = 100000
`, upURL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	proxy, err := startChild(ctx, nil, self, "bench-proxy", "--target", upURL)
	if err != nil {
		return err
	}
	defer proxy.stop()
	gwArgs := []string{"serve", "--config", cfgPath, "--log-level", "error"}
	if *profile != "" {
		gwArgs = append(gwArgs, "--cpuprofile", *profile)
	}
	var gwEnv []string
	if *memLimit != "" {
		gwEnv = append(gwEnv, "GOMEMLIMIT="+*memLimit)
	}
	if *gogc != "" {
		gwEnv = append(gwEnv, "GOGC="+*gogc)
	}
	gw, err := startChild(ctx, gwEnv, self, gwArgs...)
	if err != nil {
		return err
	}
	defer gw.stop()

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}}
	targets := []struct {
		name string
		url  string
		proc *child
	}{
		{"upstream (direct)", upURL, nil},
		{"bare ReverseProxy", proxy.url, proxy},
		{"actorinfer gateway", gw.url, gw},
	}
	// Warm up every path (connections, JIT-free but caches and pools).
	for _, t := range targets {
		if _, err := closedLoop(ctx, client, t.url, benchBody, 8, 500*time.Millisecond); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	rssIdle := gw.rss()

	fmt.Fprintf(stdout, "actorinfer bench: rate %d req/s for %s; throughput with %d workers for %s; children GOMAXPROCS=1\n\n",
		*rate, *dur, *conc, *dur)
	fmt.Fprintf(stdout, "%-20s %10s %10s %12s %12s\n", "fixed rate", "p50", "p99", "added p50", "added p99")
	var base []time.Duration
	var gwRSSLoad int64
	for i, t := range targets {
		lat, err := fixedRate(ctx, client, t.url, benchBody, *rate, *dur, func() {
			if t.proc == gw {
				if r := gw.rss(); r > gwRSSLoad {
					gwRSSLoad = r
				}
			}
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		p50, p99 := pct(lat, 50), pct(lat, 99)
		if i == 0 {
			base = []time.Duration{p50, p99}
			fmt.Fprintf(stdout, "%-20s %10s %10s %12s %12s\n", t.name, ms(p50), ms(p99), "-", "-")
			continue
		}
		fmt.Fprintf(stdout, "%-20s %10s %10s %12s %12s\n", t.name, ms(p50), ms(p99), ms(p50-base[0]), ms(p99-base[1]))
	}

	fmt.Fprintf(stdout, "\n%-20s %10s %10s %14s\n", "streaming (rate)", "p50 TTLB", "p99 TTLB", "added p50")
	var sbase time.Duration
	for i, t := range targets {
		lat, err := fixedRate(ctx, client, t.url, benchStreamBody, *rate/2, *dur, nil)
		if err != nil {
			return fmt.Errorf("%s stream: %w", t.name, err)
		}
		p50 := pct(lat, 50)
		if i == 0 {
			sbase = p50
			fmt.Fprintf(stdout, "%-20s %10s %10s %14s\n", t.name, ms(p50), ms(pct(lat, 99)), "-")
			continue
		}
		fmt.Fprintf(stdout, "%-20s %10s %10s %14s\n", t.name, ms(p50), ms(pct(lat, 99)), ms(p50-sbase))
	}

	fmt.Fprintf(stdout, "\n%-20s %12s %14s\n", "max throughput", "req/s", "CPU/request")
	for _, t := range targets[1:] {
		cpu0 := t.proc.cpu()
		n, err := closedLoop(ctx, client, t.url, benchBody, *conc, *dur)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		cpu := t.proc.cpu() - cpu0
		if t.proc == gw {
			if r := gw.rss(); r > gwRSSLoad {
				gwRSSLoad = r
			}
		}
		fmt.Fprintf(stdout, "%-20s %12.0f %12.1fµs\n", t.name, float64(n)/dur.Seconds(), float64(cpu.Microseconds())/float64(n))
	}
	fmt.Fprintf(stdout, "\ngateway RSS: idle %.1f MiB, under load %.1f MiB\n", float64(rssIdle)/(1<<20), float64(gwRSSLoad)/(1<<20))
	return nil
}

// benchUpstream answers chat completions instantly with a fixed body.
type benchUpstream struct{}

var (
	upUnary  = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello, benchmark!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`)
	upStream = []byte("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", benchmark!\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n" +
		"data: [DONE]\n\n")
)

func (benchUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if bytes.Contains(body, []byte(`"stream":true`)) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write(upStream)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(upUnary)
}

// benchProxyCmd is the floor: a bare ReverseProxy to --target.
func benchProxyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "upstream base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || *target == "" {
		return usageError{errors.New("--target URL is required")}
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096}
	rp.FlushInterval = -1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "actorinfer listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: rp}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type child struct {
	cmd *exec.Cmd
	url string
}

// startChild runs `self args...` with GOMAXPROCS=1 (plus env) and waits for the line
// "actorinfer listening on URL".
func startChild(ctx context.Context, env []string, self string, args ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(append(os.Environ(), "GOMAXPROCS=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "listening on "); i >= 0 {
				f := strings.Fields(sc.Text()[i+len("listening on "):])
				select {
				case found <- f[0]:
				default:
				}
			}
		}
	}()
	select {
	case c.url = <-found:
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%v did not start", args)
	}
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

// cpu returns the child's user+system CPU time from /proc.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ = 100 on Linux
}

// rss returns the child's resident set size in bytes.
func (c *child) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func doRequest(ctx context.Context, client *http.Client, base, body string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// fixedRate sends requests on a fixed schedule (open loop) and returns
// each one's latency, measured from its scheduled start.
func fixedRate(ctx context.Context, client *http.Client, base, body string, rate int, d time.Duration, tick func()) ([]time.Duration, error) {
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		if tick != nil && i%rate == 0 {
			tick()
		}
		wg.Add(1)
		go func(i int, at time.Time) {
			defer wg.Done()
			if err := doRequest(ctx, client, base, body); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
			lat[i] = time.Since(at)
		}(i, at)
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d requests failed: %v", f, n, firstErr.Load())
	}
	return lat, nil
}

// closedLoop runs workers back to back for d and returns how many
// requests completed.
func closedLoop(ctx context.Context, client *http.Client, base, body string, workers int, d time.Duration) (int64, error) {
	var n atomic.Int64
	var firstErr atomic.Value
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if err := doRequest(ctx, client, base, body); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return n.Load(), err
	}
	return n.Load(), nil
}

func pct(l []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d.Microseconds())/1000) }
