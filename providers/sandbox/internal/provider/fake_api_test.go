package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

// fakeSandboxAPI is a test double for the sandbox API that cloudplane
// serves (/sandbox/v1). It keeps objects in memory, checks the bearer key,
// can throttle the next N requests, and records what it was sent.
type fakeSandboxAPI struct {
	t   *testing.T
	key string
	srv *httptest.Server

	mu         sync.Mutex
	instances  map[string]*client.Instance
	buckets    map[string]*client.Bucket
	nextID     int
	throttleN  int // answer the next N requests with 429
	retryAfter string
	requests   []string // "METHOD path"
	bodies     []string
	badHeaders []string // any header other than Authorization that holds the key
}

func newFakeSandboxAPI(t *testing.T, key string) *fakeSandboxAPI {
	f := &fakeSandboxAPI{t: t, key: key, instances: map[string]*client.Instance{}, buckets: map[string]*client.Bucket{}, retryAfter: "1"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSandboxAPI) URL() string { return f.srv.URL }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg, "field": field}})
}

func (f *fakeSandboxAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]json.RawMessage
	raw := new(strings.Builder)
	if r.Body != nil {
		dec := json.NewDecoder(r.Body)
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err == nil {
			body = m
			b, _ := json.Marshal(m)
			raw.Write(b)
		}
	}
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, raw.String())
	for name, vals := range r.Header {
		if name == "Authorization" {
			continue
		}
		for _, v := range vals {
			if strings.Contains(v, f.key) {
				f.badHeaders = append(f.badHeaders, name)
			}
		}
	}

	if r.Header.Get("Authorization") != "Bearer "+f.key {
		writeErr(w, http.StatusUnauthorized, "unauthorized", "missing or unknown API key", "")
		return
	}
	if f.throttleN > 0 {
		f.throttleN--
		w.Header().Set("Retry-After", f.retryAfter)
		writeErr(w, http.StatusTooManyRequests, "throttled", "slow down", "")
		return
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodDelete && r.Header.Get("Content-Type") != "application/json" {
		writeErr(w, http.StatusUnsupportedMediaType, "bad_content_type", "JSON only", "")
		return
	}

	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/sandbox/v1/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "instances" && r.Method == http.MethodPost:
		var in client.Instance
		if err := json.Unmarshal([]byte(raw.String()), &in); err != nil || in.Name == "" {
			writeErr(w, 400, "invalid", "name is required", "name")
			return
		}
		f.nextID++
		in.ID = fmt.Sprintf("i-%04d", f.nextID)
		in.PublicIP = fmt.Sprintf("203.0.113.%d", f.nextID)
		in.PrivateIP = fmt.Sprintf("10.0.0.%d", f.nextID)
		in.Status = "running"
		if in.PowerState == "" {
			in.PowerState = "running"
		}
		f.instances[in.ID] = &in
		writeJSON(w, http.StatusCreated, in)
	case len(parts) == 2 && parts[0] == "instances":
		in, ok := f.instances[parts[1]]
		if !ok {
			writeErr(w, 404, "not_found", "no such instance", "")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, in)
		case http.MethodPatch:
			if v, ok := body["size"]; ok {
				_ = json.Unmarshal(v, &in.Size)
			}
			if v, ok := body["ssh_public_key"]; ok {
				_ = json.Unmarshal(v, &in.SSHPublicKey)
			}
			if v, ok := body["allowed_cidrs"]; ok {
				_ = json.Unmarshal(v, &in.AllowedCIDRs)
			}
			if v, ok := body["tags"]; ok {
				in.Tags = nil
				_ = json.Unmarshal(v, &in.Tags)
			}
			if v, ok := body["power_state"]; ok {
				_ = json.Unmarshal(v, &in.PowerState)
			}
			writeJSON(w, 200, in)
		case http.MethodDelete:
			delete(f.instances, in.ID)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeErr(w, 405, "method", "method not allowed", "")
		}
	case len(parts) == 1 && parts[0] == "buckets" && r.Method == http.MethodPost:
		var b client.Bucket
		if err := json.Unmarshal([]byte(raw.String()), &b); err != nil || b.Name == "" {
			writeErr(w, 400, "invalid", "name is required", "name")
			return
		}
		for _, o := range f.buckets {
			if o.Name == b.Name {
				writeErr(w, http.StatusConflict, "conflict", "bucket name is taken", "name")
				return
			}
		}
		f.nextID++
		b.ID = fmt.Sprintf("b-%04d", f.nextID)
		b.URL = "sandbox://" + b.Name
		f.buckets[b.ID] = &b
		writeJSON(w, http.StatusCreated, b)
	case len(parts) == 2 && parts[0] == "buckets":
		b, ok := f.buckets[parts[1]]
		if !ok {
			writeErr(w, 404, "not_found", "no such bucket", "")
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, 200, b)
		case http.MethodPatch:
			if v, ok := body["tags"]; ok {
				b.Tags = nil
				_ = json.Unmarshal(v, &b.Tags)
			}
			if v, ok := body["versioning"]; ok {
				_ = json.Unmarshal(v, &b.Versioning)
			}
			if v, ok := body["public"]; ok {
				_ = json.Unmarshal(v, &b.Public)
			}
			writeJSON(w, 200, b)
		case http.MethodDelete:
			delete(f.buckets, b.ID)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeErr(w, 405, "method", "method not allowed", "")
		}
	default:
		writeErr(w, 404, "not_found", "no such route", "")
	}
}

func (f *fakeSandboxAPI) throttle(n int) {
	f.mu.Lock()
	f.throttleN = n
	f.mu.Unlock()
}

func (f *fakeSandboxAPI) instance(id string) *client.Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.instances[id]
}

func (f *fakeSandboxAPI) bucket(id string) *client.Bucket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buckets[id]
}

func (f *fakeSandboxAPI) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}
