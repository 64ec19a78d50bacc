package provider

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

const testKey = "sk-test-Zq8v1pL0-SECRET"

// harness drives one resource's methods directly, the way the framework
// server would after planning.
type harness struct {
	t      *testing.T
	ctx    context.Context
	logbuf *bytes.Buffer
	r      resource.Resource
	schema resource.SchemaResponse
}

func newHarness(t *testing.T, r resource.Resource, c *client.Client) *harness {
	t.Helper()
	var buf bytes.Buffer
	h := &harness{t: t, ctx: tflogtest.RootLogger(context.Background(), &buf), logbuf: &buf, r: r}
	r.Schema(h.ctx, resource.SchemaRequest{}, &h.schema)
	if h.schema.Diagnostics.HasError() {
		t.Fatalf("schema: %v", h.schema.Diagnostics)
	}
	var cr resource.ConfigureResponse
	r.(resource.ResourceWithConfigure).Configure(h.ctx, resource.ConfigureRequest{ProviderData: c}, &cr)
	if cr.Diagnostics.HasError() {
		t.Fatalf("configure: %v", cr.Diagnostics)
	}
	return h
}

func (h *harness) nullRaw() tftypes.Value {
	return tftypes.NewValue(h.schema.Schema.Type().TerraformType(h.ctx), nil)
}

func (h *harness) plan(m any) tfsdk.Plan {
	h.t.Helper()
	p := tfsdk.Plan{Schema: h.schema.Schema, Raw: h.nullRaw()}
	if d := p.Set(h.ctx, m); d.HasError() {
		h.t.Fatalf("plan.Set: %v", d)
	}
	return p
}

func (h *harness) state(m any) tfsdk.State {
	h.t.Helper()
	s := tfsdk.State{Schema: h.schema.Schema, Raw: h.nullRaw()}
	if d := s.Set(h.ctx, m); d.HasError() {
		h.t.Fatalf("state.Set: %v", d)
	}
	return s
}

func (h *harness) create(ctx context.Context, m any) resource.CreateResponse {
	resp := resource.CreateResponse{State: tfsdk.State{Schema: h.schema.Schema, Raw: h.nullRaw()}}
	h.r.Create(ctx, resource.CreateRequest{Plan: h.plan(m)}, &resp)
	return resp
}

func (h *harness) read(st tfsdk.State) resource.ReadResponse {
	resp := resource.ReadResponse{State: st}
	h.r.Read(h.ctx, resource.ReadRequest{State: st}, &resp)
	return resp
}

func (h *harness) update(st tfsdk.State, m any) resource.UpdateResponse {
	resp := resource.UpdateResponse{State: st}
	h.r.Update(h.ctx, resource.UpdateRequest{Plan: h.plan(m), State: st}, &resp)
	return resp
}

func (h *harness) delete(st tfsdk.State) resource.DeleteResponse {
	resp := resource.DeleteResponse{State: st}
	h.r.Delete(h.ctx, resource.DeleteRequest{State: st}, &resp)
	return resp
}

func newTestClient(t *testing.T, endpoint, key string) *client.Client {
	t.Helper()
	c, err := client.New(endpoint, key, "terraform-provider-sandbox/test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func plannedInstance(size string) instanceModel {
	return instanceModel{
		ID:              types.StringUnknown(),
		Name:            types.StringValue("web-1"),
		Region:          types.StringValue("sandbox-east-1"),
		Size:            types.StringValue(size),
		SSHPublicKey:    types.StringValue("ssh-ed25519 AAAA test"),
		AllowedCIDRs:    types.ListValueMust(types.StringType, []attr.Value{types.StringValue("10.0.0.0/8")}),
		Tags:            types.MapValueMust(types.StringType, map[string]attr.Value{"env": types.StringValue("dev")}),
		SimulateSeconds: types.Int64Value(0),
		SimulateFailure: types.BoolValue(false),
		PublicIP:        types.StringUnknown(),
		PrivateIP:       types.StringUnknown(),
		Status:          types.StringUnknown(),
		PowerState:      types.StringValue("running"),
	}
}

func plannedBucket(name string) bucketModel {
	return bucketModel{
		ID:              types.StringUnknown(),
		Name:            types.StringValue(name),
		Region:          types.StringValue("sandbox-east-1"),
		Tags:            types.MapValueMust(types.StringType, map[string]attr.Value{}),
		Versioning:      types.BoolValue(false),
		Public:          types.BoolValue(false),
		SimulateSeconds: types.Int64Value(0),
		SimulateFailure: types.BoolValue(false),
		URL:             types.StringUnknown(),
	}
}

func mustOK(t *testing.T, what string, d diag.Diagnostics) {
	t.Helper()
	if d.HasError() {
		t.Fatalf("%s: %v", what, d)
	}
}

func diagText(d diag.Diagnostics) string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.Summary() + ": " + x.Detail() + "\n")
	}
	return b.String()
}

func instanceOf(t *testing.T, h *harness, st tfsdk.State) instanceModel {
	t.Helper()
	var m instanceModel
	mustOK(t, "state.Get", st.Get(h.ctx, &m))
	return m
}

func TestInstanceCreateReadUpdateDelete(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))

	cr := h.create(h.ctx, plannedInstance("small"))
	mustOK(t, "create", cr.Diagnostics)
	got := instanceOf(t, h, cr.State)
	if !strings.HasPrefix(got.ID.ValueString(), "i-") || got.PublicIP.ValueString() == "" || got.PrivateIP.ValueString() == "" || got.Status.ValueString() != "running" {
		t.Fatalf("computed attributes not set: %+v", got)
	}
	api := f.instance(got.ID.ValueString())
	if api == nil || api.Size != "small" || api.Tags["env"] != "dev" || len(api.AllowedCIDRs) != 1 || api.SSHPublicKey != "ssh-ed25519 AAAA test" {
		t.Fatalf("API object = %+v", api)
	}

	rr := h.read(cr.State)
	mustOK(t, "read", rr.Diagnostics)
	if !rr.State.Raw.Equal(cr.State.Raw) {
		t.Fatalf("read of an unchanged object changed state:\n%v\n%v", rr.State.Raw, cr.State.Raw)
	}

	want := got
	want.Size = types.StringValue("large")
	ur := h.update(rr.State, want)
	mustOK(t, "update", ur.Diagnostics)
	if after := instanceOf(t, h, ur.State); after.Size.ValueString() != "large" || after.ID != got.ID || after.PublicIP != got.PublicIP {
		t.Fatalf("after update: %+v", after)
	}
	if f.instance(got.ID.ValueString()).Size != "large" {
		t.Fatal("PATCH did not reach the API")
	}
	f.mu.Lock()
	lastBody := f.bodies[len(f.bodies)-1]
	f.mu.Unlock()
	if lastBody != `{"size":"large"}` {
		t.Fatalf("PATCH body = %s, want only the changed field", lastBody)
	}

	dr := h.delete(ur.State)
	mustOK(t, "delete", dr.Diagnostics)
	if f.instance(got.ID.ValueString()) != nil {
		t.Fatal("instance still in the API after delete")
	}
	// Deleting something already gone is not an error.
	mustOK(t, "second delete", h.delete(ur.State).Diagnostics)
}

func TestReadShowsDriftAndRemovesDeleted(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))
	cr := h.create(h.ctx, plannedInstance("small"))
	mustOK(t, "create", cr.Diagnostics)
	id := instanceOf(t, h, cr.State).ID.ValueString()

	f.mu.Lock()
	f.instances[id].Size = "xlarge"
	f.instances[id].Tags = map[string]string{"owner": "someone-else"}
	f.mu.Unlock()
	rr := h.read(cr.State)
	mustOK(t, "read", rr.Diagnostics)
	m := instanceOf(t, h, rr.State)
	if m.Size.ValueString() != "xlarge" {
		t.Fatalf("drift not shown: size %s", m.Size)
	}
	tags := map[string]string{}
	mustOK(t, "tags", m.Tags.ElementsAs(h.ctx, &tags, false))
	if len(tags) != 1 || tags["owner"] != "someone-else" {
		t.Fatalf("tag drift not shown: %v", tags)
	}

	f.mu.Lock()
	delete(f.instances, id)
	f.mu.Unlock()
	rr = h.read(rr.State)
	mustOK(t, "read after out-of-band delete", rr.Diagnostics)
	if !rr.State.Raw.IsNull() {
		t.Fatalf("404 on read should remove the resource, state = %v", rr.State.Raw)
	}
}

func TestThrottledThenSucceeds(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))
	f.throttle(2) // Retry-After: 1

	start := time.Now()
	cr := h.create(h.ctx, plannedInstance("small"))
	mustOK(t, "create", cr.Diagnostics)
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("Retry-After not honoured: took %v", el)
	}
	posts := 0
	for _, r := range f.requestLog() {
		if r == "POST /sandbox/v1/instances" {
			posts++
		}
	}
	if posts != 3 {
		t.Fatalf("POSTs = %d, want 3 (2 throttled + 1)", posts)
	}
	if len(f.instances) != 1 {
		t.Fatalf("instances = %d, want 1", len(f.instances))
	}
	logs := h.logbuf.String()
	if strings.Count(logs, "retrying") != 2 {
		t.Fatalf("want 2 retry log lines, logs:\n%s", logs)
	}
	if strings.Contains(logs, testKey) || strings.Contains(strings.ToLower(logs), "bearer") {
		t.Fatalf("logs leak the key or headers:\n%s", logs)
	}
}

func TestThrottledGivesUp(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	c := newTestClient(t, f.URL(), testKey)
	c.MaxAttempts = 3
	f.retryAfter = "0"
	f.throttle(100)
	h := newHarness(t, newInstanceResource(), c)
	cr := h.create(h.ctx, plannedInstance("small"))
	if !cr.Diagnostics.HasError() || !strings.Contains(diagText(cr.Diagnostics), "429") {
		t.Fatalf("want a 429 error, got %v", cr.Diagnostics)
	}
	if n := len(f.requestLog()); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}
	if !cr.State.Raw.IsNull() {
		t.Fatal("state set although nothing was created")
	}
}

func TestRetryAfterBeyondBudgetFailsFast(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	c := newTestClient(t, f.URL(), testKey)
	c.RetryBudget = 2 * time.Second
	f.retryAfter = "60"
	f.throttle(1)
	start := time.Now()
	_, err := c.GetInstance(context.Background(), "i-x")
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("want a quick 429 error, got %v after %v", err, time.Since(start))
	}
}

func TestUnauthorizedIsClearAndNeverShowsTheKey(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	wrong := "sk-wrong-key-DO-NOT-PRINT"
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), wrong))
	cr := h.create(h.ctx, plannedInstance("small"))
	text := diagText(cr.Diagnostics)
	if !strings.Contains(text, "401") || !strings.Contains(text, "API key was refused") || !strings.Contains(text, "SANDBOX_API_KEY") {
		t.Fatalf("401 diagnostic is not clear: %s", text)
	}
	if strings.Contains(text, wrong) || strings.Contains(h.logbuf.String(), wrong) {
		t.Fatalf("key leaked: %s", text)
	}
}

// Every error path, including a server that echoes the key back, keeps the
// key out of the message.
func TestKeyNeverInErrorMessages(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	c := newTestClient(t, f.URL(), testKey)
	c.MaxAttempts = 2
	ctx := context.Background()
	var errs []error

	_, err := c.GetInstance(ctx, "i-missing")
	errs = append(errs, err)
	_, err = c.UpdateBucket(ctx, "b-missing", client.BucketPatch{})
	errs = append(errs, err)
	_, err = c.CreateBucket(ctx, client.Bucket{Name: "dup", Region: "r"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateBucket(ctx, client.Bucket{Name: "dup", Region: "r"})
	errs = append(errs, err)
	f.retryAfter = "0"
	f.throttle(5)
	_, err = c.GetBucket(ctx, "b-x")
	errs = append(errs, err)
	f.throttle(0)

	echoSrv := httptest.NewServer(echoKeyHandler{})
	defer echoSrv.Close()
	echo := newTestClient(t, echoSrv.URL, testKey)
	_, err = echo.GetInstance(ctx, "i-1")
	errs = append(errs, err)

	dead := newTestClient(t, "http://127.0.0.1:1", testKey)
	_, err = dead.GetInstance(ctx, "i-1")
	errs = append(errs, err)

	for i, e := range errs {
		if e == nil {
			t.Fatalf("case %d: want an error", i)
		}
		if strings.Contains(e.Error(), testKey) {
			t.Fatalf("case %d: key in error: %v", i, e)
		}
	}
	if !strings.Contains(errs[2].Error(), "409") || !strings.Contains(errs[2].Error(), "field name") {
		t.Fatalf("409 error lacks detail: %v", errs[2])
	}
	if !strings.Contains(errs[4].Error(), "***") {
		t.Fatalf("echoed key not redacted: %v", errs[4])
	}
	if len(f.badHeaders) > 0 {
		t.Fatalf("key sent in headers other than Authorization: %v", f.badHeaders)
	}
}

type echoKeyHandler struct{}

func (echoKeyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	writeErr(w, 400, "bad_request", "you sent "+r.Header.Get("Authorization"), "")
}

func TestSimulateFailureOnCreateLeavesStateSet(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))
	m := plannedInstance("small")
	m.SimulateFailure = types.BoolValue(true)
	cr := h.create(h.ctx, m)
	if !cr.Diagnostics.HasError() || !strings.Contains(diagText(cr.Diagnostics), SimulatedFailure) {
		t.Fatalf("want the simulated failure, got %v", cr.Diagnostics)
	}
	if cr.State.Raw.IsNull() {
		t.Fatal("state must be set so OpenTofu taints the object")
	}
	got := instanceOf(t, h, cr.State)
	if f.instance(got.ID.ValueString()) == nil {
		t.Fatal("the object was not created")
	}
}

func TestSimulateFailureOnUpdateChangesNothing(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newBucketResource(), newTestClient(t, f.URL(), testKey))
	cr := h.create(h.ctx, plannedBucket("logs"))
	mustOK(t, "create", cr.Diagnostics)
	var b bucketModel
	mustOK(t, "get", cr.State.Get(h.ctx, &b))
	before := len(f.requestLog())

	b.Versioning = types.BoolValue(true)
	b.SimulateFailure = types.BoolValue(true)
	ur := h.update(cr.State, b)
	if !ur.Diagnostics.HasError() || !strings.Contains(diagText(ur.Diagnostics), SimulatedFailure) {
		t.Fatalf("want the simulated failure, got %v", ur.Diagnostics)
	}
	if len(f.requestLog()) != before || f.bucket(b.ID.ValueString()).Versioning {
		t.Fatal("update with simulate_failure reached the API")
	}
	if !ur.State.Raw.Equal(cr.State.Raw) {
		t.Fatal("update with simulate_failure changed state")
	}
}

func TestSimulateSecondsStopsOnCancel(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))
	m := plannedInstance("small")
	m.SimulateSeconds = types.Int64Value(60)
	ctx, cancel := context.WithCancel(h.ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	cr := h.create(ctx, m)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("cancel not honoured promptly: %v", el)
	}
	if !cr.Diagnostics.HasError() || len(f.requestLog()) != 0 {
		t.Fatalf("want an interrupted error and no API call, got %v, %v", cr.Diagnostics, f.requestLog())
	}
}

func TestSimulateSecondsWaits(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newBucketResource(), newTestClient(t, f.URL(), testKey))
	m := plannedBucket("slow")
	m.SimulateSeconds = types.Int64Value(1)
	start := time.Now()
	mustOK(t, "create", h.create(h.ctx, m).Diagnostics)
	if time.Since(start) < time.Second {
		t.Fatal("simulate_seconds did not wait")
	}
}

func TestBucketCRUDAndConflict(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newBucketResource(), newTestClient(t, f.URL(), testKey))
	cr := h.create(h.ctx, plannedBucket("assets"))
	mustOK(t, "create", cr.Diagnostics)
	var b bucketModel
	mustOK(t, "get", cr.State.Get(h.ctx, &b))
	if !strings.HasPrefix(b.ID.ValueString(), "b-") || b.URL.ValueString() != "sandbox://assets" {
		t.Fatalf("bucket state = %+v", b)
	}

	dup := h.create(h.ctx, plannedBucket("assets"))
	if !dup.Diagnostics.HasError() || !strings.Contains(diagText(dup.Diagnostics), "409") {
		t.Fatalf("want 409, got %v", dup.Diagnostics)
	}

	b.Public = types.BoolValue(true)
	b.Tags = types.MapValueMust(types.StringType, map[string]attr.Value{"team": types.StringValue("web")})
	ur := h.update(cr.State, b)
	mustOK(t, "update", ur.Diagnostics)
	if api := f.bucket(b.ID.ValueString()); !api.Public || api.Tags["team"] != "web" || api.Versioning {
		t.Fatalf("API bucket after update = %+v", api)
	}

	f.mu.Lock()
	delete(f.buckets, b.ID.ValueString())
	f.mu.Unlock()
	if rr := h.read(ur.State); !rr.State.Raw.IsNull() || rr.Diagnostics.HasError() {
		t.Fatalf("read after out-of-band delete: %v %v", rr.State.Raw, rr.Diagnostics)
	}
	mustOK(t, "delete of a gone bucket", h.delete(ur.State).Diagnostics)
}

func TestImportedStateGetsSimulateDefaults(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))
	cr := h.create(h.ctx, plannedInstance("small"))
	mustOK(t, "create", cr.Diagnostics)
	id := instanceOf(t, h, cr.State).ID

	imported := instanceModel{ID: id, AllowedCIDRs: types.ListNull(types.StringType), Tags: types.MapNull(types.StringType)}
	rr := h.read(h.state(imported))
	mustOK(t, "read", rr.Diagnostics)
	m := instanceOf(t, h, rr.State)
	if m.SimulateSeconds.ValueInt64() != 0 || m.SimulateFailure.IsNull() || m.Name.ValueString() != "web-1" {
		t.Fatalf("imported state = %+v", m)
	}
}

func configureProvider(t *testing.T, env map[string]string, endpoint, key *string) fwprovider.ConfigureResponse {
	t.Helper()
	ctx := context.Background()
	p := &sandboxProvider{version: "test", getenv: func(k string) string { return env[k] }}
	var sr fwprovider.SchemaResponse
	p.Schema(ctx, fwprovider.SchemaRequest{}, &sr)
	str := func(s *string) tftypes.Value {
		if s == nil {
			return tftypes.NewValue(tftypes.String, nil)
		}
		return tftypes.NewValue(tftypes.String, *s)
	}
	raw := tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), map[string]tftypes.Value{"endpoint": str(endpoint), "api_key": str(key)})
	var resp fwprovider.ConfigureResponse
	p.Configure(ctx, fwprovider.ConfigureRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: raw}}, &resp)
	return resp
}

func TestProviderConfigure(t *testing.T) {
	ep, key := "http://127.0.0.1:8080", testKey

	resp := configureProvider(t, nil, &ep, nil)
	if !strings.Contains(diagText(resp.Diagnostics), "the sandbox provider needs an API key (SANDBOX_API_KEY)") {
		t.Fatalf("missing key: %v", resp.Diagnostics)
	}
	resp = configureProvider(t, nil, nil, &key)
	if !strings.Contains(diagText(resp.Diagnostics), "needs an endpoint (SANDBOX_ENDPOINT)") {
		t.Fatalf("missing endpoint: %v", resp.Diagnostics)
	}
	if strings.Contains(diagText(resp.Diagnostics), testKey) {
		t.Fatal("key in diagnostics")
	}
	resp = configureProvider(t, map[string]string{EnvEndpoint: ep, EnvAPIKey: key}, nil, nil)
	mustOK(t, "env config", resp.Diagnostics)
	if _, ok := resp.ResourceData.(*client.Client); !ok {
		t.Fatalf("ResourceData = %T", resp.ResourceData)
	}
	bad := "ftp://x"
	resp = configureProvider(t, nil, &bad, &key)
	if !resp.Diagnostics.HasError() {
		t.Fatal("ftp endpoint accepted")
	}
}

// The provider served over protocol 6 advertises both resources and marks
// api_key sensitive.
func TestProtocol6Schema(t *testing.T) {
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("diagnostic: %s: %s", d.Summary, d.Detail)
	}
	for _, name := range []string{"sandbox_instance", "sandbox_bucket"} {
		if resp.ResourceSchemas[name] == nil {
			t.Fatalf("no schema for %s", name)
		}
	}
	for _, a := range resp.Provider.Block.Attributes {
		if a.Name == "api_key" && !a.Sensitive {
			t.Fatal("api_key is not sensitive")
		}
	}
}

// power_state is sent on create, changed in place by a PATCH of that field
// alone, and an out-of-band stop shows on read as drift.
func TestInstancePowerState(t *testing.T) {
	f := newFakeSandboxAPI(t, testKey)
	h := newHarness(t, newInstanceResource(), newTestClient(t, f.URL(), testKey))

	p := plannedInstance("small")
	p.PowerState = types.StringValue("stopped")
	cr := h.create(h.ctx, p)
	mustOK(t, "create stopped", cr.Diagnostics)
	got := instanceOf(t, h, cr.State)
	if got.PowerState.ValueString() != "stopped" || f.instance(got.ID.ValueString()).PowerState != "stopped" {
		t.Fatalf("created power_state = %s, API %+v", got.PowerState, f.instance(got.ID.ValueString()))
	}

	want := got
	want.PowerState = types.StringValue("running")
	ur := h.update(cr.State, want)
	mustOK(t, "start", ur.Diagnostics)
	if after := instanceOf(t, h, ur.State); after.PowerState.ValueString() != "running" || after.ID != got.ID {
		t.Fatalf("after start: %+v", after)
	}
	f.mu.Lock()
	lastBody := f.bodies[len(f.bodies)-1]
	f.mu.Unlock()
	if lastBody != `{"power_state":"running"}` {
		t.Fatalf("PATCH body = %s, want only power_state", lastBody)
	}

	f.mu.Lock()
	f.instances[got.ID.ValueString()].PowerState = "stopped"
	f.mu.Unlock()
	rr := h.read(ur.State)
	mustOK(t, "read", rr.Diagnostics)
	if m := instanceOf(t, h, rr.State); m.PowerState.ValueString() != "stopped" {
		t.Fatalf("out-of-band stop not shown: %s", m.PowerState)
	}

	// An API that predates power_state reads as running.
	f.mu.Lock()
	f.instances[got.ID.ValueString()].PowerState = ""
	f.mu.Unlock()
	rr = h.read(rr.State)
	mustOK(t, "read old API", rr.Diagnostics)
	if m := instanceOf(t, h, rr.State); m.PowerState.ValueString() != "running" {
		t.Fatalf("missing power_state read as %s", m.PowerState)
	}
}

func TestInstancePowerStateValidated(t *testing.T) {
	h := newHarness(t, newInstanceResource(), nil)
	for _, tc := range []struct {
		v  types.String
		ok bool
	}{
		{types.StringValue("running"), true},
		{types.StringValue("stopped"), true},
		{types.StringNull(), true},
		{types.StringUnknown(), true},
		{types.StringValue("paused"), false},
		{types.StringValue("Running"), false},
	} {
		m := plannedInstance("small")
		m.PowerState = tc.v
		cfg := tfsdk.Config{Schema: h.schema.Schema, Raw: h.plan(m).Raw}
		var resp resource.ValidateConfigResponse
		h.r.(resource.ResourceWithValidateConfig).ValidateConfig(h.ctx, resource.ValidateConfigRequest{Config: cfg}, &resp)
		if resp.Diagnostics.HasError() == tc.ok {
			t.Errorf("power_state %v: diagnostics %v, want ok=%v", tc.v, resp.Diagnostics, tc.ok)
		}
		if !tc.ok && !strings.Contains(diagText(resp.Diagnostics), "power_state must be running or stopped") {
			t.Errorf("power_state %v: message %q", tc.v, diagText(resp.Diagnostics))
		}
	}
}
