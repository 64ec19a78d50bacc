package provider

import (
	"context"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

type projectResource struct{ clientHolder }

func newProjectResource() resource.Resource { return &projectResource{} }

type projectModel struct {
	ID                   types.String  `tfsdk:"id"`
	Name                 types.String  `tfsdk:"name"`
	RequireApproval      types.Bool    `tfsdk:"require_approval"`
	MonthlyBudgetUSD     types.Float64 `tfsdk:"monthly_budget_usd"`
	DefaultTTLSeconds    types.Int64   `tfsdk:"default_ttl_seconds"`
	MaxTTLSeconds        types.Int64   `tfsdk:"max_ttl_seconds"`
	ExpiryAutoApprove    types.Bool    `tfsdk:"expiry_auto_approve"`
	DriftIntervalMinutes types.Int64   `tfsdk:"drift_interval_minutes"`
	Role                 types.String  `tfsdk:"role"`
	CreatedAt            types.String  `tfsdk:"created_at"`
}

type apiProject struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	RequireApproval      bool     `json:"require_approval"`
	MonthlyBudgetUSD     *float64 `json:"monthly_budget_usd"`
	DefaultTTLSeconds    *int64   `json:"default_ttl_seconds"`
	MaxTTLSeconds        *int64   `json:"max_ttl_seconds"`
	ExpiryAutoApprove    bool     `json:"expiry_auto_approve"`
	DriftIntervalMinutes int64    `json:"drift_interval_minutes"`
	Role                 string   `json:"role"`
	CreatedAt            string   `json:"created_at"`
}

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A cloudplane project. The token's user becomes its owner. Deleting it fails (409) while it has resources that are not destroyed.",
		Attributes: map[string]schema.Attribute{
			"id":   schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Project id."},
			"name": schema.StringAttribute{Required: true, Description: "Name (1 to 100 characters, not only blanks)."},
			"require_approval": schema.BoolAttribute{Optional: true, Computed: true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				Description:   "Orders wait for an owner's or admin's approval. Server default: false."},
			"monthly_budget_usd": schema.Float64Attribute{Optional: true,
				Description: "Monthly budget in USD; null for none."},
			"default_ttl_seconds": schema.Int64Attribute{Optional: true,
				Description: "The lifetime an order gets when it names none (60 to 31622400); null for none."},
			"max_ttl_seconds": schema.Int64Attribute{Optional: true,
				Description: "The longest lifetime a member may give a resource; null for none."},
			"expiry_auto_approve": schema.BoolAttribute{Optional: true, Computed: true,
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				Description:   "An expiry destroy applies without approval."},
			"drift_interval_minutes": schema.Int64Attribute{Optional: true, Computed: true,
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
				Description:   "Minutes between scheduled drift checks; 0 = off."},
			"role":       schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The token's role in the project."},
			"created_at": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Creation time (RFC 3339)."},
		},
	}
}

func (m *projectModel) body(create bool) map[string]any {
	b := map[string]any{"name": m.Name.ValueString()}
	if !m.RequireApproval.IsNull() && !m.RequireApproval.IsUnknown() {
		b["require_approval"] = m.RequireApproval.ValueBool()
	}
	if !m.ExpiryAutoApprove.IsNull() && !m.ExpiryAutoApprove.IsUnknown() {
		b["expiry_auto_approve"] = m.ExpiryAutoApprove.ValueBool()
	}
	if !m.DriftIntervalMinutes.IsNull() && !m.DriftIntervalMinutes.IsUnknown() {
		b["drift_interval_minutes"] = m.DriftIntervalMinutes.ValueInt64()
	}
	// Optional only: null clears on update.
	if !m.MonthlyBudgetUSD.IsNull() {
		b["monthly_budget_usd"] = m.MonthlyBudgetUSD.ValueFloat64()
	} else if !create {
		b["monthly_budget_usd"] = nil
	}
	if !m.MaxTTLSeconds.IsNull() {
		b["max_ttl_seconds"] = m.MaxTTLSeconds.ValueInt64()
	} else if !create {
		b["max_ttl_seconds"] = nil
	}
	if !m.DefaultTTLSeconds.IsNull() {
		b["default_ttl_seconds"] = m.DefaultTTLSeconds.ValueInt64()
	} else if !create {
		b["default_ttl_seconds"] = nil
	}
	return b
}

func (m *projectModel) fill(p *apiProject) {
	m.ID = types.StringValue(p.ID)
	m.Name = types.StringValue(p.Name)
	m.RequireApproval = types.BoolValue(p.RequireApproval)
	m.MonthlyBudgetUSD = float64OrNull(p.MonthlyBudgetUSD)
	m.DefaultTTLSeconds = int64OrNull(p.DefaultTTLSeconds)
	m.MaxTTLSeconds = int64OrNull(p.MaxTTLSeconds)
	m.ExpiryAutoApprove = types.BoolValue(p.ExpiryAutoApprove)
	m.DriftIntervalMinutes = types.Int64Value(p.DriftIntervalMinutes)
	m.Role = types.StringValue(p.Role)
	m.CreatedAt = types.StringValue(p.CreatedAt)
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p apiProject
	if err := r.c.Do(ctx, http.MethodPost, "/projects", m.body(true), &p); err != nil {
		resp.Diagnostics.AddError("Creating the project failed", err.Error())
		return
	}
	m.fill(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p apiProject
	if err := r.c.Do(ctx, http.MethodGet, "/projects/"+m.ID.ValueString(), nil, &p); err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the project failed", err.Error())
		return
	}
	m.fill(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, st projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var p apiProject
	if err := r.c.Do(ctx, http.MethodPatch, "/projects/"+st.ID.ValueString(), m.body(false), &p); err != nil {
		resp.Diagnostics.AddError("Updating the project failed", err.Error())
		return
	}
	m.fill(&p)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.c.Do(ctx, http.MethodDelete, "/projects/"+m.ID.ValueString(), nil, nil)
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Deleting the project failed", err.Error())
	}
}

func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
