package provider

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// A project service token. The API shows the token once, at creation: it is
// a sensitive computed attribute, so it is in the state (that is the only
// place it can be kept for other resources to use).
type projectTokenResource struct{ clientHolder }

func newProjectTokenResource() resource.Resource { return &projectTokenResource{} }

type projectTokenModel struct {
	ID            types.String `tfsdk:"id"`
	ProjectID     types.String `tfsdk:"project_id"`
	Name          types.String `tfsdk:"name"`
	Scopes        types.Set    `tfsdk:"scopes"`
	Role          types.String `tfsdk:"role"`
	ExpiresInDays types.Int64  `tfsdk:"expires_in_days"`
	Token         types.String `tfsdk:"token"`
	ExpiresAt     types.String `tfsdk:"expires_at"`
	CreatedAt     types.String `tfsdk:"created_at"`
	LastUsedAt    types.String `tfsdk:"last_used_at"`
}

type apiToken struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	ProjectID  *string  `json:"project_id"`
	Role       *string  `json:"role"`
	CreatedAt  string   `json:"created_at"`
	ExpiresAt  string   `json:"expires_at"`
	LastUsedAt *string  `json:"last_used_at"`
	Token      string   `json:"token"`
}

func (r *projectTokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project_token"
}

func (r *projectTokenResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A project service token (cpt_…): it belongs to the project and acts there only, with its role and " +
			"scopes. Tokens cannot be changed: any change makes a new one (and revokes the old). `token` is returned " +
			"once, at creation, and kept in the state as a sensitive value; an imported token has none. A token " +
			"revoked or expired elsewhere leaves the state, and the next apply makes a new one. Import with " +
			"`<project_id>/<token_id>`.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Token id."},
			"project_id": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Project id."},
			"name":       schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Name."},
			"scopes": schema.SetAttribute{ElementType: types.StringType, Required: true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.RequiresReplace()},
				Description:   "Scopes: read, order, approve, admin."},
			"role": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("member"),
				PlanModifiers: replace, Validators: []validator.String{oneOf("admin", "member", "viewer")},
				Description: "Its role in the project: admin, member (default) or viewer; at most the maker's."},
			"expires_in_days": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(90),
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
				Description:   "Lifetime in days, 1 to 365 (default 90)."},
			"token": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: keep,
				Description: "The token, cpt_<id>_<secret>: known after creation only (null when imported)."},
			"expires_at":   schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Expiry time."},
			"created_at":   schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Creation time."},
			"last_used_at": schema.StringAttribute{Computed: true, Description: "Last use (updated at most once a minute); null when never used."},
		},
	}
}

func (m *projectTokenModel) fill(ctx context.Context, t *apiToken, diags diagAppender) {
	m.ID = types.StringValue(t.ID)
	if t.ProjectID != nil {
		m.ProjectID = types.StringValue(*t.ProjectID)
	}
	m.Name = types.StringValue(t.Name)
	s, d := types.SetValueFrom(ctx, types.StringType, t.Scopes)
	diags.Append(d...)
	m.Scopes = s
	m.Role = stringOrNull(t.Role)
	m.ExpiresAt = types.StringValue(t.ExpiresAt)
	m.CreatedAt = types.StringValue(t.CreatedAt)
	m.LastUsedAt = stringOrNull(t.LastUsedAt)
	c, err1 := time.Parse(time.RFC3339, t.CreatedAt)
	e, err2 := time.Parse(time.RFC3339, t.ExpiresAt)
	if err1 == nil && err2 == nil {
		m.ExpiresInDays = types.Int64Value(int64(math.Round(e.Sub(c).Hours() / 24)))
	}
	if t.Token != "" {
		m.Token = types.StringValue(t.Token)
	}
}

func (r *projectTokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m projectTokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"name": m.Name.ValueString(), "scopes": setStrings(ctx, m.Scopes, &resp.Diagnostics),
		"role": m.Role.ValueString(), "expires_in_days": m.ExpiresInDays.ValueInt64()}
	var t apiToken
	if err := r.c.Do(ctx, http.MethodPost, "/projects/"+m.ProjectID.ValueString()+"/tokens", body, &t); err != nil {
		resp.Diagnostics.AddError("Creating the project token failed", err.Error())
		return
	}
	days := m.ExpiresInDays
	m.fill(ctx, &t, &resp.Diagnostics)
	m.ExpiresInDays = days // as planned; the server's times say the same
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectTokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m projectTokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	tokens, err := client.List[apiToken](ctx, r.c, "/projects/"+m.ProjectID.ValueString()+"/tokens")
	if err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the project token failed", err.Error())
		return
	}
	for i := range tokens {
		if tokens[i].ID == m.ID.ValueString() {
			m.fill(ctx, &tokens[i], &resp.Diagnostics)
			resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
			return
		}
	}
	resp.State.RemoveResource(ctx) // revoked or expired
}

// Update has nothing to send: every argument replaces the token.
func (r *projectTokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m projectTokenModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *projectTokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m projectTokenModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.c.Do(ctx, http.MethodDelete, "/projects/"+m.ProjectID.ValueString()+"/tokens/"+m.ID.ValueString(), nil, nil)
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Revoking the project token failed", err.Error())
	}
}

func (r *projectTokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	pid, id, err := splitID(req.ID, "<project_id>/<token_id>")
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), pid)...)
}
