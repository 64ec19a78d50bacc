package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestRetriesA429ThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"p1"}`))
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "cpt_a_b", "test")
	var out struct{ ID string }
	if err := c.Do(context.Background(), http.MethodPost, "/projects", map[string]string{"name": "x"}, &out); err != nil || out.ID != "p1" {
		t.Fatalf("%v %+v", err, out)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls = %d", calls.Load())
	}
}

func TestDoesNotRetryAPostOn503(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "cpt_a_b", "test")
	err := c.Do(context.Background(), http.MethodPost, "/projects", map[string]string{"name": "x"}, nil)
	if !IsStatus(err, 503) || calls.Load() != 1 {
		t.Fatalf("%v, %d calls", err, calls.Load())
	}
}

func TestListFollowsTheCursor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cursor") == "" {
			_, _ = w.Write([]byte(`{"items":[{"id":"a"}],"next_cursor":"c2"}`))
			return
		}
		_, _ = w.Write([]byte(`{"items":[{"id":"b"}],"next_cursor":null}`))
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "cpt_a_b", "test")
	items, err := List[struct{ ID string }](context.Background(), c, "/projects/p/members")
	if err != nil || len(items) != 2 || items[1].ID != "b" {
		t.Fatalf("%v %+v", err, items)
	}
}
