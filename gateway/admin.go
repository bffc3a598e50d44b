package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// maxOpenFor bounds a forced breaker opening; longer is almost certainly a
// typo (use a config change to take a deployment out for good).
const maxOpenFor = 24 * time.Hour

// admin serves /admin/deployments[/{name}[/rebuild|/circuit]]; rest is the
// path after /admin/deployments.
func (s *Server) admin(w http.ResponseWriter, r *http.Request, rest string) {
	ctx, cancel := context.WithTimeout(r.Context(), s.stateTimeout)
	defer cancel()
	if rest == "" || rest == "/" {
		if allowMethod(w, r, http.MethodGet) {
			s.adminList(ctx, w)
		}
		return
	}
	name, action, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	if name == "" {
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, code: "unknown_url", message: "unknown admin URL"})
		return
	}
	switch action {
	case "":
		if allowMethod(w, r, http.MethodGet) {
			st, err := s.backend.DeploymentState(ctx, name)
			if err != nil {
				writeAdminError(w, err, s.now())
				return
			}
			writeJSONValue(w, http.StatusOK, adminStateOf(st))
		}
	case "rebuild":
		if allowMethod(w, r, http.MethodPost) {
			if err := s.backend.Rebuild(ctx, name); err != nil {
				writeAdminError(w, err, s.now())
				return
			}
			writeJSONValue(w, http.StatusOK, map[string]string{"deployment": name, "rebuilt": "manual"})
		}
	case "circuit":
		if allowMethod(w, r, http.MethodPost) {
			s.adminCircuit(ctx, w, r, name)
		}
	default:
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, code: "unknown_url", message: "unknown admin URL"})
	}
}

func (s *Server) adminList(ctx context.Context, w http.ResponseWriter) {
	states, err := s.backend.DeploymentStates(ctx)
	if err != nil {
		writeAdminError(w, err, s.now())
		return
	}
	out := struct {
		Object string            `json:"object"`
		Data   []adminDeployment `json:"data"`
	}{Object: "list", Data: make([]adminDeployment, 0, len(states))}
	for _, st := range states {
		out.Data = append(out.Data, adminStateOf(st))
	}
	writeJSONValue(w, http.StatusOK, out)
}

func (s *Server) adminCircuit(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) {
	var req struct {
		OpenFor *string `json:"open_for"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
	if err != nil {
		writeError(w, tooLarge(4096))
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, jsonError(err))
		return
	}
	if req.OpenFor == nil {
		writeError(w, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
			param: "open_for", message: `open_for is required, e.g. {"open_for":"5m"}`})
		return
	}
	d, err := time.ParseDuration(*req.OpenFor)
	if err != nil || d <= 0 || d > maxOpenFor {
		writeError(w, invalidParam("open_for", "open_for must be a positive Go duration up to 24h, e.g. \"5m\""))
		return
	}
	if err := s.backend.ForceOpen(ctx, name, d); err != nil {
		writeAdminError(w, err, s.now())
		return
	}
	writeJSONValue(w, http.StatusOK, map[string]string{"deployment": name, "state": "open",
		"open_for": d.String(), "open_until": s.now().Add(d).UTC().Format(time.RFC3339)})
}

// jsonError maps an encoding/json error on an admin body to a 400.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &apiError{status: 400, typ: typeInvalidRequest, code: "invalid_type", param: te.Field,
			message: "invalid type for " + te.Field}
	}
	return errInvalidJSON
}

// writeAdminError maps a backend error on an admin route: NOT_FOUND there
// names a deployment, not a model.
func writeAdminError(w http.ResponseWriter, err error, now time.Time) {
	e := runners.AsError(err)
	if e.GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, code: "deployment_not_found",
			param: "name", message: e.GetMessage(), wire: e})
		return
	}
	a := fromWire(e, now)
	if errors.Is(err, context.DeadlineExceeded) {
		a.status = http.StatusGatewayTimeout
	}
	writeError(w, a)
}

// adminDeployment is the admin view of a deployment's state: a stable,
// documented JSON shape (times in RFC 3339, omitted when unset).
type adminDeployment struct {
	Name          string         `json:"name"`
	Model         string         `json:"model,omitempty"`
	Runtime       string         `json:"runtime,omitempty"`
	Transport     string         `json:"transport,omitempty"`
	Healthy       bool           `json:"healthy"`
	Replicas      []adminReplica `json:"replicas"`
	InFlight      int64          `json:"in_flight"`
	MaxConcurrent int64          `json:"max_concurrent"`
	Queue         adminQueue     `json:"queue"`
	Throttle      float64        `json:"throttle_factor,omitempty"`
	Limiter       *adminLimiter  `json:"limiter,omitempty"`
	Budget        *adminBudget   `json:"budget,omitempty"`
	Breaker       *adminBreaker  `json:"breaker,omitempty"`
}

type adminReplica struct {
	Index            int32  `json:"index"`
	Healthy          bool   `json:"healthy"`
	InFlight         int64  `json:"in_flight"`
	Restarts         int64  `json:"restarts"`
	LastRebuildCause string `json:"last_rebuild_cause,omitempty"`
	LastError        string `json:"last_error,omitempty"`
}

type adminQueue struct {
	Depth int64 `json:"depth"`
	Size  int64 `json:"size"`
}

type adminLimiter struct {
	Configured struct {
		RequestsPerMinute float64 `json:"requests_per_minute"`
		TokensPerMinute   float64 `json:"tokens_per_minute"`
		Concurrent        int64   `json:"concurrent_requests"`
	} `json:"configured"`
	Effective struct {
		RequestsPerMinute float64 `json:"requests_per_minute"`
		TokensPerMinute   float64 `json:"tokens_per_minute"`
	} `json:"effective"`
	Used struct {
		Concurrent        int64   `json:"concurrent_requests"`
		RequestsAvailable float64 `json:"requests_available"`
		TokensAvailable   float64 `json:"tokens_available"`
	} `json:"used"`
	Waiting     int64  `json:"waiting"`
	Granted     int64  `json:"granted_total"`
	Rejected    int64  `json:"rejected_total"`
	PausedUntil string `json:"paused_until,omitempty"`
}

type adminBudget struct {
	OnExceeded string       `json:"on_exceeded,omitempty"`
	Hour       budgetWindow `json:"hour"`
	Day        budgetWindow `json:"day"`
	Reserved   float64      `json:"reserved_usd"`
	Throttled  bool         `json:"throttled"`
	Rejected   int64        `json:"rejected_total"`
}

type budgetWindow struct {
	Spent     float64  `json:"spent_usd"`
	Cap       float64  `json:"cap_usd,omitempty"`
	Remaining *float64 `json:"remaining_usd,omitempty"`
	ResetsAt  string   `json:"resets_at,omitempty"`
}

type adminBreaker struct {
	State               string `json:"state"`
	ConsecutiveFailures int64  `json:"consecutive_failures"`
	OpenUntil           string `json:"open_until,omitempty"`
	Trips               int64  `json:"trips"`
	ProbesInFlight      int64  `json:"probes_in_flight"`
}

func rfc3339(unixNano int64) string {
	if unixNano <= 0 {
		return ""
	}
	return time.Unix(0, unixNano).UTC().Format(time.RFC3339Nano)
}

func window(spent, capUSD float64, resets int64) budgetWindow {
	w := budgetWindow{Spent: spent, Cap: capUSD, ResetsAt: rfc3339(resets)}
	if capUSD > 0 {
		rem := max(capUSD-spent, 0)
		w.Remaining = &rem
	}
	return w
}

func adminStateOf(st *messages.DeploymentState) adminDeployment {
	a := adminDeployment{
		Name: st.GetName(), Model: st.GetModel(), Runtime: st.GetRuntime(), Transport: st.GetTransport(),
		Healthy: deploymentHealthy(st), InFlight: st.GetInFlight(), MaxConcurrent: st.GetMaxConcurrent(),
		Queue:    adminQueue{Depth: st.GetQueueDepth(), Size: st.GetQueueSize()},
		Throttle: st.GetThrottleFactor(), Replicas: make([]adminReplica, 0, len(st.GetReplicas())),
	}
	for _, r := range st.GetReplicas() {
		a.Replicas = append(a.Replicas, adminReplica{Index: r.GetIndex(), Healthy: r.GetHealthy(),
			InFlight: r.GetInFlight(), Restarts: r.GetRestarts(), LastRebuildCause: r.GetLastRebuildCause(),
			LastError: r.GetLastError()})
	}
	if l := st.GetLimiter(); l != nil {
		al := &adminLimiter{Waiting: l.GetWaiting(), Granted: l.GetGrantedTotal(), Rejected: l.GetRejectedTotal(),
			PausedUntil: rfc3339(l.GetPausedUntilUnixNano())}
		al.Configured.RequestsPerMinute = l.GetRequestsPerMinute()
		al.Configured.TokensPerMinute = l.GetTokensPerMinute()
		al.Configured.Concurrent = l.GetConcurrentLimit()
		al.Effective.RequestsPerMinute = l.GetEffectiveRpm()
		al.Effective.TokensPerMinute = l.GetEffectiveTpm()
		al.Used.Concurrent = l.GetInUse()
		al.Used.RequestsAvailable = l.GetRpmAvailable()
		al.Used.TokensAvailable = l.GetTpmAvailable()
		a.Limiter = al
	}
	if b := st.GetBudget(); b != nil {
		a.Budget = &adminBudget{OnExceeded: b.GetOnExceeded(),
			Hour:     window(b.GetSpentHourUsd(), b.GetCapHourUsd(), b.GetHourResetsAtUnixNano()),
			Day:      window(b.GetSpentDayUsd(), b.GetCapDayUsd(), b.GetDayResetsAtUnixNano()),
			Reserved: b.GetReservedUsd(), Throttled: b.GetThrottled(), Rejected: b.GetRejectedTotal()}
	}
	if br := st.GetBreaker(); br != nil {
		a.Breaker = &adminBreaker{State: br.GetState(), ConsecutiveFailures: br.GetConsecutiveFailures(),
			OpenUntil: rfc3339(br.GetOpenUntilUnixNano()), Trips: br.GetTrips(), ProbesInFlight: br.GetProbesInFlight()}
	}
	return a
}
