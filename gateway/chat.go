package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// exchange is the state of one chat completion while it is served: timing
// for the metrics, the outcome, and the ids the response carries.
type exchange struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	reqID string
	id    string // chatcmpl-...
	model string // as the client named it
	req   *decodedRequest

	start      time.Duration // mono() at arrival
	blocked    time.Duration // time spent waiting on the backend
	firstChunk time.Duration // mono() at the first chunk; 0 until then
	lastChunk  time.Duration

	status     int
	deployment string
	route      string // X-Actorinfer-Route: the routers' decisions, outermost first
	errCode    string // in-band or HTTP error code, for logs
	inBand     bool   // the stream failed after it was committed
	usage      *messages.Usage
	cost       float64
	series     *series // resolved at the first chunk, or at the end
}

// chat serves POST /v1/chat/completions.
func (s *Server) chat(w http.ResponseWriter, r *http.Request, reqID string) {
	x := exchange{s: s, w: w, r: r, reqID: reqID, start: mono()}
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	defer x.finish()

	if !s.drain.enter() {
		x.fail(&apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "draining",
			message: "the server is shutting down", retryAfter: time.Second})
		return
	}
	defer s.drain.leave()

	bp, aerr := s.readBody(w, r)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	req, aerr := decodeChatRequest(*bp)
	s.putBuf(bp)
	if aerr != nil {
		x.fail(aerr)
		return
	}
	x.req, x.model = req, req.batch.Model
	if aerr := applyHints(r.Header, req.batch); aerr != nil {
		x.fail(aerr)
		return
	}
	req.batch.RequestId = reqID
	x.id = "chatcmpl-" + s.newID()

	ctx := r.Context()
	if s.requestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.requestTimeout)
		defer cancel()
		req.batch.DeadlineUnixNano = s.now().Add(s.requestTimeout).UnixNano()
	}

	t := mono()
	h, err := s.backend.Execute(ctx, req.batch)
	x.blocked += mono() - t
	if err != nil {
		x.failBackend(ctx, err)
		return
	}
	defer h.Close()
	// The backend cancels on ctx, but a Recv must not outlive the request
	// even when it does not: closing the handle ends a blocked Recv.
	stop := context.AfterFunc(ctx, func() { h.Close() })
	defer stop()
	if req.stream {
		x.stream(ctx, h)
	} else {
		x.unary(ctx, h)
	}
}

// recv reads the next chunk, counting the wait as backend time.
func (x *exchange) recv(h runners.RunHandle) (*messages.TokenChunk, error) {
	t := mono()
	c, err := h.Recv()
	now := mono()
	x.blocked += now - t
	if c != nil {
		if c.GetDeployment() != "" {
			x.deployment = c.GetDeployment()
		}
		if len(c.GetRoutes()) > 0 && x.route == "" {
			x.route = formatRoutes(c.GetRoutes())
		}
		if x.firstChunk == 0 {
			x.firstChunk = now
			x.series = x.s.metrics.seriesFor(x.s.label(x.deployment), x.s.label(x.model))
			x.series.ttft.Observe((now - x.start).Seconds())
		} else {
			x.series.interToken.Observe((now - x.lastChunk).Seconds())
		}
		x.lastChunk = now
	}
	return c, err
}

// fail answers with e, unless the client is already gone.
func (x *exchange) fail(e *apiError) {
	if e.wire != nil && e.wire.GetDeployment() != "" && x.deployment == "" {
		x.deployment = e.wire.GetDeployment()
	}
	x.errCode = e.code
	if x.r.Context().Err() != nil {
		x.status = statusClientClosed
		return
	}
	x.status = e.status
	x.setServedBy(x.w.Header())
	writeError(x.w, e)
}

// failBackend maps a backend error before anything was written. A client
// that went away gets nothing; our own timeout is a 504 whatever the
// backend made of the cancellation.
func (x *exchange) failBackend(ctx context.Context, err error) {
	e := runners.AsError(err)
	a := fromWire(e, x.s.now())
	if x.r.Context().Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		a = &apiError{status: http.StatusGatewayTimeout, typ: typeServer, code: "timeout", wire: e,
			message: "the request did not complete within " + x.s.requestTimeout.String()}
	}
	x.fail(a)
}

// emptyStream is the error for a stream that ended before any chunk.
var emptyStream = &messages.Error{Code: messages.ErrorCode_ERROR_CODE_SERVER_ERROR,
	Message: "the backend ended the stream without a chunk"}

// unary collects the whole answer and writes one chat.completion object.
func (x *exchange) unary(ctx context.Context, h runners.RunHandle) {
	var acc answer
	for {
		c, err := x.recv(h)
		if errors.Is(err, io.EOF) {
			if x.firstChunk == 0 {
				x.failBackend(ctx, emptyStream)
				return
			}
			break
		}
		if err != nil {
			x.failBackend(ctx, err)
			return
		}
		acc.add(c)
	}
	x.usage, x.cost = acc.usage, acc.cost
	bp := x.s.getBuf()
	b := appendCompletion((*bp)[:0], x.id, x.s.now().Unix(), x.model, &acc)
	hd := x.w.Header()
	hd["Content-Type"] = hdrJSON
	x.setServedBy(hd)
	x.status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write(b)
	*bp = b
	x.s.putBuf(bp)
}

// stream relays the answer as server-sent events. Nothing is written until
// the first chunk arrives (the commit boundary); after it a failure is an
// in-band error event and the stream ends without finish_reason or [DONE].
func (x *exchange) stream(ctx context.Context, h runners.RunHandle) {
	first, err := x.recv(h)
	if errors.Is(err, io.EOF) {
		err = emptyStream
	}
	if err != nil {
		x.failBackend(ctx, err)
		return
	}

	hd := x.w.Header()
	hd["Content-Type"] = hdrEventStream
	hd["Cache-Control"] = hdrNoCache
	hd["X-Accel-Buffering"] = hdrNo
	x.setServedBy(hd)
	x.status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)

	bp, pp := x.s.getBuf(), x.s.getBuf()
	defer func() { x.s.putBuf(bp); x.s.putBuf(pp) }()
	*pp = chunkPrefix((*pp)[:0], x.id, x.s.now().Unix(), x.model)
	enc := sseEncoder{prefix: *pp}
	b := enc.role((*bp)[:0])

	var finish messages.FinishReason
	c := first
	for {
		b = enc.delta(b, c)
		if f := c.GetFinishReason(); f != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			finish = f
		}
		if c.GetUsage() != nil {
			x.usage = c.GetUsage()
		}
		x.cost += c.GetCostUsd()
		if !x.flush(rc, b) {
			*bp = b
			return
		}
		b = b[:0]
		c, err = x.recv(h)
		if err != nil {
			break
		}
	}
	*bp = b
	if !errors.Is(err, io.EOF) && x.r.Context().Err() != nil {
		x.status = statusClientClosed // the client left: nobody to tell
		return
	}
	if !errors.Is(err, io.EOF) {
		// In-band failure: say so, and never look complete.
		a := fromWire(runners.AsError(err), x.s.now())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && x.r.Context().Err() == nil {
			a = &apiError{status: http.StatusGatewayTimeout, typ: typeServer, code: "timeout",
				message: "the request did not complete within " + x.s.requestTimeout.String()}
		}
		x.inBand, x.errCode = true, a.code
		*bp = appendErrorEvent(b[:0], a)
		x.flush(rc, *bp)
		return
	}
	if finish == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		finish = messages.FinishReason_FINISH_REASON_STOP
	}
	b = enc.finish(b[:0], finish)
	if x.req.includeUsage {
		b = enc.usage(b, x.usage)
	}
	b = append(b, "data: [DONE]\n\n"...)
	*bp = b
	x.flush(rc, b)
}

// flush writes b and flushes it to the client, counting a failure as the
// client having gone away.
func (x *exchange) flush(rc *http.ResponseController, b []byte) bool {
	if _, err := x.w.Write(b); err != nil {
		x.status = statusClientClosed
		return false
	}
	if err := rc.Flush(); err != nil {
		x.status = statusClientClosed
		return false
	}
	return true
}

// finish records the request's metrics and logs failures.
func (x *exchange) finish() {
	if x.status == 0 && x.r.Context().Err() != nil {
		x.status = statusClientClosed
	}
	total := mono() - x.start
	m := x.s.metrics
	// The series was resolved at the first chunk; the last chunk names the
	// deployment too, should the first not have.
	sr := x.series
	if k := (seriesKey{x.s.label(x.deployment), x.s.label(x.model)}); sr == nil || sr.key != k {
		sr = m.seriesFor(k.deployment, k.model)
	}
	sr.requests[statusClass(x.status)].Inc()
	stream := x.req != nil && x.req.stream
	sr.duration[b2i(stream)].Observe(total.Seconds())
	m.overhead[b2i(stream)].Observe((total - x.blocked).Seconds())
	if u := x.usage; u != nil {
		sr.tokensIn.Add(float64(u.GetInputTokens()))
		sr.tokensOut.Add(float64(u.GetOutputTokens()))
		sr.tokensCached.Add(float64(u.GetCachedInputTokens()))
		sr.tokensReasoning.Add(float64(u.GetReasoningTokens()))
	}
	if x.cost > 0 {
		sr.cost.Add(x.cost)
	}
	if x.inBand {
		m.streamErrors.WithLabelValues(x.s.label(x.deployment), x.s.label(x.model), x.errCode).Inc()
	}
	level := slog.LevelDebug
	if x.status >= 500 || x.inBand {
		level = slog.LevelWarn
	}
	if ctx := context.WithoutCancel(x.r.Context()); x.s.log.Enabled(ctx, level) {
		msg := "chat completion"
		if level == slog.LevelWarn {
			msg = "chat completion failed"
		}
		x.s.log.LogAttrs(ctx, level, msg,
			slog.String("request_id", x.reqID), slog.String("model", x.model),
			slog.String("deployment", x.deployment), slog.Int("status", x.status),
			slog.String("code", x.errCode), slog.Bool("in_band", x.inBand), slog.Bool("stream", stream),
			slog.Duration("duration", total), slog.Duration("overhead", total-x.blocked))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
