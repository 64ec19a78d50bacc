// Package client calls cloudplane's HTTP API (/api/v1) with a bearer token
// (an API token, cpt_…). Errors name the method, path, status and the API's
// error code and message; never the token or a request body.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const maxBodyBytes = 4 << 20

// Client is safe for concurrent use.
type Client struct {
	base      string
	token     string
	userAgent string
	http      *http.Client
}

// New checks the URL and token and returns a client.
func New(baseURL, token, userAgent string) (*Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("the cloudplane provider needs an API token (CLOUDPLANE_TOKEN)")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloudplane url %q is not an http(s) URL", baseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("cloudplane url must be a plain base URL without credentials, query or fragment")
	}
	return &Client{base: u.String(), token: token, userAgent: userAgent,
		http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// APIError is a non-2xx reply.
type APIError struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s %s: HTTP %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
}

// IsStatus says whether err is an *APIError with that status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// IsCode says whether err is an *APIError with that error code.
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// Do sends body (JSON-encoded when not nil) to /api/v1+path and decodes a
// JSON reply into out (when not nil). A 429 is retried (the request was not
// processed), and so are 502/503/504 for GET, PUT and DELETE, which are
// idempotent: up to 4 attempts, waiting Retry-After (at most 10 s) or 0.5, 1, 2 s.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
		payload = b
	}
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.once(ctx, method, path, payload, body != nil, out)
		var ae *APIError
		if attempt >= 4 || !errors.As(err, &ae) || !retryable(method, ae.Status) {
			return err
		}
		d := wait
		if retryAfter > 0 {
			d = min(retryAfter, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		wait *= 2
	}
}

func retryable(method string, status int) bool {
	if status == http.StatusTooManyRequests {
		return true
	}
	idempotent := method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete
	return idempotent && (status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout)
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte, hasBody bool, out any) (time.Duration, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// net/http errors carry the URL, which has no secret in it.
		return 0, fmt.Errorf("%s %s: %s", method, path, strings.ReplaceAll(err.Error(), c.token, "[token]"))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return 0, fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		ae := &APIError{Method: method, Path: path, Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			ae.Code, ae.Message = eb.Error.Code, eb.Error.Message
		}
		var retryAfter time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			retryAfter = time.Duration(secs) * time.Second
		}
		return retryAfter, ae
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, fmt.Errorf("%s %s: decoding the reply: %w", method, path, err)
		}
	}
	return 0, nil
}

// List follows a paged list (items, next_cursor) and returns every item.
func List[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	cursor := ""
	for i := 0; i < 1000; i++ {
		p := path
		if cursor != "" {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []T     `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := c.Do(ctx, http.MethodGet, p, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all, nil
		}
		cursor = *page.NextCursor
	}
	return nil, fmt.Errorf("GET %s: more than 1000 pages", path)
}
