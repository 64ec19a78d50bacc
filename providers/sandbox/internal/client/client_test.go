package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("3", 1); d != 3*time.Second {
		t.Fatalf("seconds: %v", d)
	}
	if d := retryAfter("", 3); d != 4*time.Second {
		t.Fatalf("backoff: %v", d)
	}
	future := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if d := retryAfter(future, 1); d < 8*time.Second || d > 11*time.Second {
		t.Fatalf("date: %v", d)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct{ ep, key, want string }{
		{"http://127.0.0.1:8080", "", "needs an API key (SANDBOX_API_KEY)"},
		{"", "k", "needs an endpoint"},
		{"127.0.0.1:8080", "k", "not an http(s) URL"},
		{"http://user:pw@host", "k", "plain base URL"},
	} {
		_, err := New(tc.ep, tc.key, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("New(%q): %v, want %q", tc.ep, err, tc.want)
		}
	}
	c, err := New("http://127.0.0.1:8080/", "k", "")
	if err != nil || c.base.String() != "http://127.0.0.1:8080" {
		t.Fatalf("trailing slash: %v %v", c, err)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Minute); err == nil || time.Since(start) > time.Second {
		t.Fatalf("Sleep ignored cancel: %v", err)
	}
}
