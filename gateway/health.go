package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// modelObject is OpenAI's model object, plus the kind (deployment or
// router) of the name.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Kind    string `json:"kind,omitempty"`
}

func modelObjectOf(m ModelInfo) modelObject {
	owner := m.OwnedBy
	if owner == "" {
		owner = "actorinfer"
	}
	return modelObject{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: owner, Kind: m.Kind}
}

// models serves GET /v1/models in OpenAI's list shape.
func (s *Server) models(w http.ResponseWriter) {
	ms := s.backend.Models()
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: make([]modelObject, 0, len(ms))}
	for _, m := range ms {
		list.Data = append(list.Data, modelObjectOf(m))
	}
	writeJSONValue(w, http.StatusOK, list)
}

// model serves GET /v1/models/{id}.
func (s *Server) model(w http.ResponseWriter, id string) {
	for _, m := range s.backend.Models() {
		if m.ID == id {
			writeJSONValue(w, http.StatusOK, modelObjectOf(m))
			return
		}
	}
	writeError(w, &apiError{status: http.StatusNotFound, typ: typeInvalidRequest, code: "model_not_found",
		param: "model", message: "the model " + strconv.Quote(id) + " does not exist"})
}

// ready serves GET /readyz: 200 when every deployment has a healthy
// replica, else 503 naming the unhealthy ones.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	type body struct {
		Status    string   `json:"status"`
		Unhealthy []string `json:"unhealthy,omitempty"`
		Error     string   `json:"error,omitempty"`
	}
	if s.drain.isDraining() {
		w.Header().Set("Retry-After", "1")
		writeJSONValue(w, http.StatusServiceUnavailable, body{Status: "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.stateTimeout)
	defer cancel()
	states, err := s.backend.DeploymentStates(ctx)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeJSONValue(w, http.StatusServiceUnavailable, body{Status: "not_ready", Error: "deployment state unavailable"})
		return
	}
	var bad []string
	for _, st := range states {
		if !deploymentHealthy(st) {
			bad = append(bad, st.GetName())
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		w.Header().Set("Retry-After", retryAfterSeconds(time.Second))
		writeJSONValue(w, http.StatusServiceUnavailable, body{Status: "not_ready", Unhealthy: bad})
		return
	}
	writeJSONValue(w, http.StatusOK, body{Status: "ready"})
}

// writeJSONValue writes v with encoding/json: for the routes off the hot path.
func writeJSONValue(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, typ: typeServer,
			code: "internal_error", message: "internal error"})
		return
	}
	writeJSON(w, status, append(b, '\n'))
}
