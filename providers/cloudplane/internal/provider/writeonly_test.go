package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// With a client that supports write-only attributes (OpenTofu/Terraform
// 1.11+), the credentials go to the API and neither the plan nor the new
// state holds them: only their hash. Driven over the plugin protocol, as the
// client would.
func TestWriteOnlyCredentialsReachTheAPIButNotTheState(t *testing.T) {
	const key = "sbx_writeonly_0123456789abcdef01234"
	var got map[string]any
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/projects/p1/accounts" {
			http.Error(w, `{"error":{"code":"not_found","message":"no"}}`, http.StatusNotFound)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"a1","project_id":"p1","name":"sbx","cloud":"sandbox","hint":"…1234","created_at":"2026-01-01T00:00:00Z"}`))
	}))
	defer api.Close()

	ctx := context.Background()
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, _ := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	pt := schemas.Provider.ValueType()
	pcfg, _ := tfprotov6.NewDynamicValue(pt, tftypes.NewValue(pt, map[string]tftypes.Value{
		"url": tftypes.NewValue(tftypes.String, api.URL), "token": tftypes.NewValue(tftypes.String, "cpt_a_b")}))
	if r, _ := srv.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &pcfg}); len(r.Diagnostics) > 0 {
		t.Fatalf("configure: %v", r.Diagnostics[0].Detail)
	}

	const name = "cloudplane_cloud_account"
	rt := schemas.ResourceSchemas[name].ValueType().(tftypes.Object)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	null := func(a string) tftypes.Value { return tftypes.NewValue(rt.AttributeTypes[a], nil) }
	obj := func(creds tftypes.Value, computed func(string) tftypes.Value) tftypes.Value {
		return tftypes.NewValue(rt, map[string]tftypes.Value{
			"id": computed("id"), "project_id": str("p1"), "name": str("sbx"), "cloud": str("sandbox"),
			"credentials": creds, "credentials_env": null("credentials_env"),
			"credentials_sha256": computed("credentials_sha256"), "hint": computed("hint"), "created_at": computed("created_at"),
		})
	}
	creds := tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{"api_key": str(key)})
	dv := func(v tftypes.Value) *tfprotov6.DynamicValue {
		d, err := tfprotov6.NewDynamicValue(rt, v)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	config := dv(obj(creds, null))

	// An older client is refused at validation; a newer one is not.
	v, _ := srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: name, Config: config})
	if len(v.Diagnostics) == 0 || !strings.Contains(v.Diagnostics[0].Summary, "WriteOnly") {
		t.Fatalf("an older client must be refused: %+v", v.Diagnostics)
	}
	v, _ = srv.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: name, Config: config,
		ClientCapabilities: &tfprotov6.ValidateResourceConfigClientCapabilities{WriteOnlyAttributesAllowed: true}})
	if len(v.Diagnostics) > 0 {
		t.Fatalf("validate: %s", v.Diagnostics[0].Detail)
	}

	prior := dv(tftypes.NewValue(rt, nil))
	plan, _ := srv.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: name, PriorState: prior,
		ProposedNewState: dv(obj(null("credentials"), null)), Config: config})
	if len(plan.Diagnostics) > 0 {
		t.Fatalf("plan: %s", plan.Diagnostics[0].Detail)
	}
	applied, _ := srv.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: name, PriorState: prior,
		PlannedState: plan.PlannedState, Config: config})
	if len(applied.Diagnostics) > 0 {
		t.Fatalf("apply: %s", applied.Diagnostics[0].Detail)
	}
	if c, _ := got["credentials"].(map[string]any); c["api_key"] != key {
		t.Fatalf("the API got %v", got)
	}
	for what, d := range map[string]*tfprotov6.DynamicValue{"plan": plan.PlannedState, "state": applied.NewState} {
		if strings.Contains(string(d.MsgPack), key) {
			t.Errorf("the %s holds the key", what)
		}
		val, err := d.Unmarshal(rt)
		if err != nil {
			t.Fatal(err)
		}
		var attrs map[string]tftypes.Value
		_ = val.As(&attrs)
		if !attrs["credentials"].IsNull() {
			t.Errorf("%s: credentials not null", what)
		}
		var sum string
		if err := attrs["credentials_sha256"].As(&sum); err != nil || sum != secretHash(map[string]string{"api_key": key}) {
			t.Errorf("%s: credentials_sha256 = %q (%v)", what, sum, err)
		}
	}
}
