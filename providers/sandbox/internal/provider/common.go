package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapdefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

// SimulatedFailure is the error detail for simulate_failure = true.
const SimulatedFailure = "simulated failure (simulate_failure = true)"

// maxSimulateSeconds bounds simulate_seconds so a typo cannot hang a run.
const maxSimulateSeconds = 3600

func simulateSecondsAttr() schema.Int64Attribute {
	return schema.Int64Attribute{
		Optional:    true,
		Computed:    true,
		Default:     int64default.StaticInt64(0),
		Description: "Seconds the provider waits during create, update and delete (for trying out progress and cancel). 0 to 3600.",
	}
}

func simulateFailureAttr() schema.BoolAttribute {
	return schema.BoolAttribute{
		Optional:    true,
		Computed:    true,
		Default:     booldefault.StaticBool(false),
		Description: "When true, create makes the object and then fails (OpenTofu marks it tainted), and update fails without changing anything.",
	}
}

func tagsAttr() schema.MapAttribute {
	return schema.MapAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     mapdefault.StaticValue(types.MapValueMust(types.StringType, map[string]attr.Value{})),
		Description: "Tags, changed in place.",
	}
}

func stringListAttr(desc string) schema.ListAttribute {
	return schema.ListAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Computed:    true,
		Default:     listdefault.StaticValue(types.ListValueMust(types.StringType, []attr.Value{})),
		Description: desc,
	}
}

func checkSimulateSeconds(v types.Int64, diags *diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if n := v.ValueInt64(); n < 0 || n > maxSimulateSeconds {
		diags.AddAttributeError(path.Root("simulate_seconds"), "Invalid simulate_seconds",
			fmt.Sprintf("simulate_seconds must be between 0 and %d, got %d.", maxSimulateSeconds, n))
	}
}

// simulate waits simulate_seconds, stopping early when ctx is canceled
// (OpenTofu cancels the request context when it is interrupted).
func simulate(ctx context.Context, op string, seconds types.Int64, diags *diag.Diagnostics) bool {
	n := seconds.ValueInt64()
	if n <= 0 {
		return true
	}
	tflog.Info(ctx, "simulating a slow operation", map[string]any{"operation": op, "seconds": n})
	if err := client.Sleep(ctx, time.Duration(n)*time.Second); err != nil {
		diags.AddError("Sandbox "+op+" interrupted", fmt.Sprintf("interrupted during simulate_seconds = %d: %v", n, err))
		return false
	}
	return true
}

func configuredClient(data any, diags *diag.Diagnostics) *client.Client {
	if data == nil {
		return nil // not configured yet (e.g. during validation)
	}
	c, ok := data.(*client.Client)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *client.Client, got %T", data))
		return nil
	}
	return c
}

func notConfigured(diags *diag.Diagnostics) {
	diags.AddError("Sandbox provider not configured",
		"the sandbox provider has no API client; configure endpoint and api_key (or SANDBOX_ENDPOINT and SANDBOX_API_KEY).")
}

func listToStrings(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	out := []string{}
	if l.IsNull() || l.IsUnknown() {
		return out
	}
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

func mapToStrings(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

func stringsToList(ctx context.Context, s []string, diags *diag.Diagnostics) types.List {
	if s == nil {
		s = []string{}
	}
	l, d := types.ListValueFrom(ctx, types.StringType, s)
	diags.Append(d...)
	return l
}

func stringsToMap(ctx context.Context, m map[string]string, diags *diag.Diagnostics) types.Map {
	if m == nil {
		m = map[string]string{}
	}
	v, d := types.MapValueFrom(ctx, types.StringType, m)
	diags.Append(d...)
	return v
}

// keepSimulate carries simulate_* over from prior state; after an import
// they are null and take their defaults.
func keepSimulate(seconds types.Int64, failure types.Bool) (types.Int64, types.Bool) {
	if seconds.IsNull() || seconds.IsUnknown() {
		seconds = types.Int64Value(0)
	}
	if failure.IsNull() || failure.IsUnknown() {
		failure = types.BoolValue(false)
	}
	return seconds, failure
}

func apiErr(diags *diag.Diagnostics, summary string, err error) {
	diags.AddError(summary, err.Error())
}
