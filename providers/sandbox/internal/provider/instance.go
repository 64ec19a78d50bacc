package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

var (
	_ resource.Resource                   = (*instanceResource)(nil)
	_ resource.ResourceWithConfigure      = (*instanceResource)(nil)
	_ resource.ResourceWithImportState    = (*instanceResource)(nil)
	_ resource.ResourceWithValidateConfig = (*instanceResource)(nil)
)

type instanceResource struct {
	client *client.Client
}

func newInstanceResource() resource.Resource { return &instanceResource{} }

type instanceModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Region          types.String `tfsdk:"region"`
	Size            types.String `tfsdk:"size"`
	SSHPublicKey    types.String `tfsdk:"ssh_public_key"`
	AllowedCIDRs    types.List   `tfsdk:"allowed_cidrs"`
	Tags            types.Map    `tfsdk:"tags"`
	SimulateSeconds types.Int64  `tfsdk:"simulate_seconds"`
	SimulateFailure types.Bool   `tfsdk:"simulate_failure"`
	PublicIP        types.String `tfsdk:"public_ip"`
	PrivateIP       types.String `tfsdk:"private_ip"`
	Status          types.String `tfsdk:"status"`
	PowerState      types.String `tfsdk:"power_state"`
}

// Power states an instance can be put in; stopped keeps its disk and addresses.
var powerStates = []string{"running", "stopped"}

func (r *instanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance"
}

func (r *instanceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A simulated VM in the cloudplane sandbox cloud.",
		Attributes: map[string]schema.Attribute{
			"id":     schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Instance id (i-…)."},
			"name":   schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Instance name; changing it replaces the instance."},
			"region": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Region; changing it replaces the instance."},
			"size":   schema.StringAttribute{Required: true, Description: "Size, changed in place."},
			"ssh_public_key": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(""),
				Description: "SSH public key, changed in place.",
			},
			"allowed_cidrs":    stringListAttr("CIDRs allowed to reach the instance, changed in place."),
			"tags":             tagsAttr(),
			"simulate_seconds": simulateSecondsAttr(),
			"simulate_failure": simulateFailureAttr(),
			"public_ip":        schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"private_ip":       schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"status":           schema.StringAttribute{Computed: true, PlanModifiers: keep},
			"power_state": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("running"),
				Description: "running or stopped, changed in place (a stopped instance keeps its disk and addresses).",
			},
		},
	}
}

func (r *instanceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = configuredClient(req.ProviderData, &resp.Diagnostics)
}

func (r *instanceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var s types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("simulate_seconds"), &s)...)
	checkSimulateSeconds(s, &resp.Diagnostics)
	var ps types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("power_state"), &ps)...)
	checkPowerState(ps, &resp.Diagnostics)
}

func checkPowerState(v types.String, diags *diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() || slices.Contains(powerStates, v.ValueString()) {
		return
	}
	diags.AddAttributeError(path.Root("power_state"), "Invalid power_state",
		fmt.Sprintf("power_state must be running or stopped, got %q.", v.ValueString()))
}

func (r *instanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// fromAPI fills m from the API object; simulate_* stay as they are in m.
func (m *instanceModel) fromAPI(ctx context.Context, in *client.Instance, diags *diag.Diagnostics) {
	m.ID = types.StringValue(in.ID)
	m.Name = types.StringValue(in.Name)
	m.Region = types.StringValue(in.Region)
	m.Size = types.StringValue(in.Size)
	m.SSHPublicKey = types.StringValue(in.SSHPublicKey)
	m.AllowedCIDRs = stringsToList(ctx, in.AllowedCIDRs, diags)
	m.Tags = stringsToMap(ctx, in.Tags, diags)
	m.PublicIP = types.StringValue(in.PublicIP)
	m.PrivateIP = types.StringValue(in.PrivateIP)
	m.Status = types.StringValue(in.Status)
	ps := in.PowerState
	if ps == "" {
		ps = "running" // a sandbox API older than power_state
	}
	m.PowerState = types.StringValue(ps)
	m.SimulateSeconds, m.SimulateFailure = keepSimulate(m.SimulateSeconds, m.SimulateFailure)
}

func (r *instanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := client.Instance{
		Name:         plan.Name.ValueString(),
		Region:       plan.Region.ValueString(),
		Size:         plan.Size.ValueString(),
		SSHPublicKey: plan.SSHPublicKey.ValueString(),
		AllowedCIDRs: listToStrings(ctx, plan.AllowedCIDRs, &resp.Diagnostics),
		Tags:         mapToStrings(ctx, plan.Tags, &resp.Diagnostics),
		PowerState:   plan.PowerState.ValueString(),
	}
	if resp.Diagnostics.HasError() || !simulate(ctx, "create", plan.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	out, err := r.client.CreateInstance(ctx, body)
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not create sandbox instance", err)
		return
	}
	tflog.Info(ctx, "created sandbox instance", map[string]any{"id": out.ID})
	plan.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if plan.SimulateFailure.ValueBool() {
		// The object exists and is in state, so OpenTofu marks it tainted.
		resp.Diagnostics.AddError("Sandbox instance create failed", SimulatedFailure)
	}
}

func (r *instanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	out, err := r.client.GetInstance(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		tflog.Warn(ctx, "sandbox instance is gone; removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not read sandbox instance", err)
		return
	}
	state.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *instanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan, state instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !simulate(ctx, "update", plan.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	if plan.SimulateFailure.ValueBool() {
		resp.Diagnostics.AddError("Sandbox instance update failed", SimulatedFailure)
		return
	}

	var patch client.InstancePatch
	changed := false
	if !plan.Size.Equal(state.Size) {
		v := plan.Size.ValueString()
		patch.Size, changed = &v, true
	}
	if !plan.SSHPublicKey.Equal(state.SSHPublicKey) {
		v := plan.SSHPublicKey.ValueString()
		patch.SSHPublicKey, changed = &v, true
	}
	if planCIDRs, stateCIDRs := listToStrings(ctx, plan.AllowedCIDRs, &resp.Diagnostics), listToStrings(ctx, state.AllowedCIDRs, &resp.Diagnostics); !slices.Equal(planCIDRs, stateCIDRs) {
		patch.AllowedCIDRs, changed = &planCIDRs, true
	}
	if !plan.Tags.Equal(state.Tags) {
		v := mapToStrings(ctx, plan.Tags, &resp.Diagnostics)
		patch.Tags, changed = &v, true
	}
	if !plan.PowerState.IsUnknown() && !plan.PowerState.Equal(state.PowerState) {
		v := plan.PowerState.ValueString()
		patch.PowerState, changed = &v, true
	}
	if resp.Diagnostics.HasError() {
		return
	}

	var out *client.Instance
	var err error
	if changed {
		out, err = r.client.UpdateInstance(ctx, state.ID.ValueString(), patch)
	} else {
		// Only simulate_* changed: nothing to send, but refresh.
		out, err = r.client.GetInstance(ctx, state.ID.ValueString())
	}
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not update sandbox instance", err)
		return
	}
	plan.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !simulate(ctx, "delete", state.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	err := r.client.DeleteInstance(ctx, state.ID.ValueString())
	if err != nil && !client.IsNotFound(err) {
		apiErr(&resp.Diagnostics, "Could not delete sandbox instance", err)
	}
}
