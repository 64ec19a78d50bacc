package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

var (
	_ resource.Resource                   = (*bucketResource)(nil)
	_ resource.ResourceWithConfigure      = (*bucketResource)(nil)
	_ resource.ResourceWithImportState    = (*bucketResource)(nil)
	_ resource.ResourceWithValidateConfig = (*bucketResource)(nil)
)

type bucketResource struct {
	client *client.Client
}

func newBucketResource() resource.Resource { return &bucketResource{} }

type bucketModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Region          types.String `tfsdk:"region"`
	Tags            types.Map    `tfsdk:"tags"`
	Versioning      types.Bool   `tfsdk:"versioning"`
	Public          types.Bool   `tfsdk:"public"`
	SimulateSeconds types.Int64  `tfsdk:"simulate_seconds"`
	SimulateFailure types.Bool   `tfsdk:"simulate_failure"`
	URL             types.String `tfsdk:"url"`
}

func (r *bucketResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bucket"
}

func (r *bucketResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A simulated object-storage bucket in the cloudplane sandbox cloud.",
		Attributes: map[string]schema.Attribute{
			"id":     schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Bucket id (b-…)."},
			"name":   schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Bucket name, unique among live buckets; changing it replaces the bucket."},
			"region": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Region; changing it replaces the bucket."},
			"tags":   tagsAttr(),
			"versioning": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Object versioning, changed in place.",
			},
			"public": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Public read access, changed in place.",
			},
			"simulate_seconds": simulateSecondsAttr(),
			"simulate_failure": simulateFailureAttr(),
			"url":              schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "sandbox://<name>"},
		},
	}
}

func (r *bucketResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = configuredClient(req.ProviderData, &resp.Diagnostics)
}

func (r *bucketResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var s types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("simulate_seconds"), &s)...)
	checkSimulateSeconds(s, &resp.Diagnostics)
}

func (r *bucketResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

func (m *bucketModel) fromAPI(ctx context.Context, in *client.Bucket, diags *diag.Diagnostics) {
	m.ID = types.StringValue(in.ID)
	m.Name = types.StringValue(in.Name)
	m.Region = types.StringValue(in.Region)
	m.Tags = stringsToMap(ctx, in.Tags, diags)
	m.Versioning = types.BoolValue(in.Versioning)
	m.Public = types.BoolValue(in.Public)
	m.URL = types.StringValue(in.URL)
	m.SimulateSeconds, m.SimulateFailure = keepSimulate(m.SimulateSeconds, m.SimulateFailure)
}

func (r *bucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan bucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := client.Bucket{
		Name:       plan.Name.ValueString(),
		Region:     plan.Region.ValueString(),
		Tags:       mapToStrings(ctx, plan.Tags, &resp.Diagnostics),
		Versioning: plan.Versioning.ValueBool(),
		Public:     plan.Public.ValueBool(),
	}
	if resp.Diagnostics.HasError() || !simulate(ctx, "create", plan.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	out, err := r.client.CreateBucket(ctx, body)
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not create sandbox bucket", err)
		return
	}
	tflog.Info(ctx, "created sandbox bucket", map[string]any{"id": out.ID})
	plan.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	if plan.SimulateFailure.ValueBool() {
		resp.Diagnostics.AddError("Sandbox bucket create failed", SimulatedFailure)
	}
}

func (r *bucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state bucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	out, err := r.client.GetBucket(ctx, state.ID.ValueString())
	if client.IsNotFound(err) {
		tflog.Warn(ctx, "sandbox bucket is gone; removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not read sandbox bucket", err)
		return
	}
	state.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *bucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var plan, state bucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !simulate(ctx, "update", plan.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	if plan.SimulateFailure.ValueBool() {
		resp.Diagnostics.AddError("Sandbox bucket update failed", SimulatedFailure)
		return
	}

	var patch client.BucketPatch
	changed := false
	if !plan.Tags.Equal(state.Tags) {
		v := mapToStrings(ctx, plan.Tags, &resp.Diagnostics)
		patch.Tags, changed = &v, true
	}
	if !plan.Versioning.Equal(state.Versioning) {
		v := plan.Versioning.ValueBool()
		patch.Versioning, changed = &v, true
	}
	if !plan.Public.Equal(state.Public) {
		v := plan.Public.ValueBool()
		patch.Public, changed = &v, true
	}
	if resp.Diagnostics.HasError() {
		return
	}

	var out *client.Bucket
	var err error
	if changed {
		out, err = r.client.UpdateBucket(ctx, state.ID.ValueString(), patch)
	} else {
		out, err = r.client.GetBucket(ctx, state.ID.ValueString())
	}
	if err != nil {
		apiErr(&resp.Diagnostics, "Could not update sandbox bucket", err)
		return
	}
	plan.fromAPI(ctx, out, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *bucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	if r.client == nil {
		notConfigured(&resp.Diagnostics)
		return
	}
	var state bucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !simulate(ctx, "delete", state.SimulateSeconds, &resp.Diagnostics) {
		return
	}
	err := r.client.DeleteBucket(ctx, state.ID.ValueString())
	if err != nil && !client.IsNotFound(err) {
		apiErr(&resp.Diagnostics, "Could not delete sandbox bucket", err)
	}
}
