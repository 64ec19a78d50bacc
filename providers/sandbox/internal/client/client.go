// Package client talks to the sandbox cloud API (/sandbox/v1) that
// cloudplane serves. It knows nothing about OpenTofu beyond logging
// through tflog.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// ErrNotFound is returned (wrapped in *APIError) for a 404.
var ErrNotFound = errors.New("not found")

// Retry limits for throttled (429) and transient (502/503/504) replies.
const (
	DefaultMaxAttempts = 5
	DefaultRetryBudget = 30 * time.Second
	maxBodyBytes       = 1 << 20
)

// Client is safe for concurrent use.
type Client struct {
	base        *url.URL
	apiKey      string
	userAgent   string
	http        *http.Client
	MaxAttempts int
	RetryBudget time.Duration
}

// New checks the endpoint and key and returns a client. Neither error
// message contains the key.
func New(endpoint, apiKey, userAgent string) (*Client, error) {
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("the sandbox provider needs an API key (SANDBOX_API_KEY)")
	}
	if strings.TrimSpace(endpoint) == "" {
		return nil, errors.New("the sandbox provider needs an endpoint (SANDBOX_ENDPOINT), e.g. http://127.0.0.1:8080")
	}
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox endpoint %q is not an http(s) URL", endpoint)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sandbox endpoint must be a plain base URL without credentials, query or fragment")
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       60 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	return &Client{
		base:        u,
		apiKey:      apiKey,
		userAgent:   userAgent,
		http:        &http.Client{Transport: transport, Timeout: 60 * time.Second},
		MaxAttempts: DefaultMaxAttempts,
		RetryBudget: DefaultRetryBudget,
	}, nil
}

// APIError is a non-2xx reply, carrying the API's error object.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sandbox API %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Status == http.StatusUnauthorized {
		b.WriteString(": the API key was refused; check the provider's api_key or SANDBOX_API_KEY")
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	return b.String()
}

func (e *APIError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Instance is the API's instance object.
type Instance struct {
	ID           string            `json:"id,omitempty"`
	Name         string            `json:"name"`
	Region       string            `json:"region"`
	Size         string            `json:"size"`
	SSHPublicKey string            `json:"ssh_public_key"`
	AllowedCIDRs []string          `json:"allowed_cidrs"`
	Tags         map[string]string `json:"tags"`
	PublicIP     string            `json:"public_ip,omitempty"`
	PrivateIP    string            `json:"private_ip,omitempty"`
	Status       string            `json:"status,omitempty"`
	PowerState   string            `json:"power_state,omitempty"`
	CreatedAt    string            `json:"created_at,omitempty"`
	UpdatedAt    string            `json:"updated_at,omitempty"`
}

// InstancePatch holds the fields an instance can change in place; nil
// means "leave as is".
type InstancePatch struct {
	Size         *string            `json:"size,omitempty"`
	SSHPublicKey *string            `json:"ssh_public_key,omitempty"`
	AllowedCIDRs *[]string          `json:"allowed_cidrs,omitempty"`
	Tags         *map[string]string `json:"tags,omitempty"`
	PowerState   *string            `json:"power_state,omitempty"`
}

// Bucket is the API's bucket object.
type Bucket struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name"`
	Region     string            `json:"region"`
	Tags       map[string]string `json:"tags"`
	Versioning bool              `json:"versioning"`
	Public     bool              `json:"public"`
	URL        string            `json:"url,omitempty"`
	CreatedAt  string            `json:"created_at,omitempty"`
	UpdatedAt  string            `json:"updated_at,omitempty"`
}

// BucketPatch holds the fields a bucket can change in place.
type BucketPatch struct {
	Tags       *map[string]string `json:"tags,omitempty"`
	Versioning *bool              `json:"versioning,omitempty"`
	Public     *bool              `json:"public,omitempty"`
}

func (c *Client) CreateInstance(ctx context.Context, in Instance) (*Instance, error) {
	var out Instance
	return &out, c.do(ctx, http.MethodPost, "/sandbox/v1/instances", in, &out)
}

func (c *Client) GetInstance(ctx context.Context, id string) (*Instance, error) {
	var out Instance
	return &out, c.do(ctx, http.MethodGet, "/sandbox/v1/instances/"+url.PathEscape(id), nil, &out)
}

func (c *Client) UpdateInstance(ctx context.Context, id string, p InstancePatch) (*Instance, error) {
	var out Instance
	return &out, c.do(ctx, http.MethodPatch, "/sandbox/v1/instances/"+url.PathEscape(id), p, &out)
}

func (c *Client) DeleteInstance(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/sandbox/v1/instances/"+url.PathEscape(id), nil, nil)
}

func (c *Client) CreateBucket(ctx context.Context, in Bucket) (*Bucket, error) {
	var out Bucket
	return &out, c.do(ctx, http.MethodPost, "/sandbox/v1/buckets", in, &out)
}

func (c *Client) GetBucket(ctx context.Context, id string) (*Bucket, error) {
	var out Bucket
	return &out, c.do(ctx, http.MethodGet, "/sandbox/v1/buckets/"+url.PathEscape(id), nil, &out)
}

func (c *Client) UpdateBucket(ctx context.Context, id string, p BucketPatch) (*Bucket, error) {
	var out Bucket
	return &out, c.do(ctx, http.MethodPatch, "/sandbox/v1/buckets/"+url.PathEscape(id), p, &out)
}

func (c *Client) DeleteBucket(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/sandbox/v1/buckets/"+url.PathEscape(id), nil, nil)
}

// logCtx masks the key in anything logged through ctx, as a second line
// of defence: no header is ever logged.
func (c *Client) logCtx(ctx context.Context) context.Context {
	ctx = tflog.SetField(ctx, "sandbox_endpoint", c.base.String())
	ctx = tflog.MaskMessageStrings(ctx, c.apiKey)
	return tflog.MaskAllFieldValuesStrings(ctx, c.apiKey)
}

// redact removes the key from text that came from outside (an error body,
// a transport error), in case a server or proxy echoes it.
func (c *Client) redact(s string) string {
	if c.apiKey == "" {
		return s
	}
	return strings.ReplaceAll(s, c.apiKey, "***")
}

// do sends one API call, retrying 429 (all methods: the server did not act
// on it) and 502/503/504 (idempotent methods only) within MaxAttempts and
// RetryBudget, honouring ctx.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	ctx = c.logCtx(ctx)
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("sandbox API %s %s: encoding request: %w", method, path, err)
		}
	}
	idempotent := method != http.MethodPost
	deadline := time.Now().Add(c.RetryBudget)
	maxAttempts := c.MaxAttempts
	if maxAttempts < 1 {
		maxAttempts = 1
	}

	for attempt := 1; ; attempt++ {
		status, hdr, respBody, err := c.once(ctx, method, path, body)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("sandbox API %s %s: %w", method, path, ctx.Err())
			}
			return fmt.Errorf("sandbox API %s %s: %s", method, path, c.redact(err.Error()))
		}
		tflog.Debug(ctx, "sandbox API call", map[string]any{"method": method, "path": path, "status": status, "attempt": attempt})

		if status >= 200 && status < 300 {
			if out == nil || status == http.StatusNoContent || len(respBody) == 0 {
				return nil
			}
			if err := json.Unmarshal(respBody, out); err != nil {
				return fmt.Errorf("sandbox API %s %s: decoding %d reply: %w", method, path, status, err)
			}
			return nil
		}

		retryable := status == http.StatusTooManyRequests ||
			(idempotent && (status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout))
		if retryable && attempt < maxAttempts {
			wait := retryAfter(hdr.Get("Retry-After"), attempt)
			if time.Now().Add(wait).Before(deadline) {
				tflog.Warn(ctx, "sandbox API throttled or unavailable; retrying", map[string]any{
					"method": method, "path": path, "status": status,
					"attempt": attempt, "max_attempts": maxAttempts, "wait_seconds": wait.Seconds(),
				})
				if err := Sleep(ctx, wait); err != nil {
					return fmt.Errorf("sandbox API %s %s: gave up waiting to retry: %w", method, path, err)
				}
				continue
			}
		}
		return c.apiError(method, path, status, respBody, attempt)
	}
}

func (c *Client) once(ctx context.Context, method, path string, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

func (c *Client) apiError(method, path string, status int, body []byte, attempts int) error {
	e := &APIError{Method: method, Path: path, Status: status}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Code = c.redact(env.Error.Code)
		e.Message = c.redact(env.Error.Message)
		e.Field = c.redact(env.Error.Field)
	}
	if status == http.StatusTooManyRequests && attempts > 1 {
		e.Message = strings.TrimSpace(e.Message + fmt.Sprintf(" (still throttled after %d attempts)", attempts))
	}
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date); without one it
// backs off 1s, 2s, 4s…
func retryAfter(v string, attempt int) time.Duration {
	if v = strings.TrimSpace(v); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
			return 0
		}
	}
	return time.Duration(1<<(attempt-1)) * time.Second
}

// Sleep waits d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
