package provider

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// The project's rule set, as one JSON document (the API's GuardrailRules):
// the rules are many and nested, and jsonencode() keeps them readable in HCL.
type guardrailsResource struct{ clientHolder }

func newGuardrailsResource() resource.Resource { return &guardrailsResource{} }

type guardrailsModel struct {
	ID        types.String `tfsdk:"id"`
	ProjectID types.String `tfsdk:"project_id"`
	Rules     types.String `tfsdk:"rules"`
	UpdatedAt types.String `tfsdk:"updated_at"`
}

type apiGuardrails struct {
	ProjectID string          `json:"project_id"`
	Rules     json.RawMessage `json:"rules"`
	UpdatedAt *string         `json:"updated_at"`
}

func (r *guardrailsResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_guardrails"
}

func (r *guardrailsResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A project's guardrail rules, all of them: the resource owns the whole rule set (PUT replaces it; " +
			"deleting the resource turns every rule off). `rules` is the API's GuardrailRules object as JSON, usually " +
			"`jsonencode({ allowed_clouds = { level = \"hard\", clouds = [\"sandbox\"] }, ... })`; it is compared by " +
			"meaning, not by spelling. Import with the project id.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Description: "The project id."},
			"project_id": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Description: "Project id."},
			"rules": schema.StringAttribute{Required: true,
				Description: "The rules as a JSON object (see the API's GuardrailRules): allowed_clouds, allowed_regions, allowed_sizes, max_vcpu_per_resource, max_vcpu_per_project, required_tags, max_monthly_cost, budget, no_public_buckets, each with its level (advisory, soft, hard); a rule left out is off."},
			"updated_at": schema.StringAttribute{Computed: true, Description: "When the rules last changed."},
		},
	}
}

// canonicalJSON re-encodes a JSON document with sorted keys, no spaces,
// numbers as the shortest float (100 and 100.0 alike) and members whose value
// is null left out (the API treats them as absent).
func canonicalJSON(s []byte) (string, error) {
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		return "", err
	}
	b, err := json.Marshal(dropNulls(v))
	return string(b), err
}

func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			} else {
				x[k] = dropNulls(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropNulls(x[i])
		}
	}
	return v
}

// fill sets the rules from the server, keeping the state's spelling when it
// means the same.
func (m *guardrailsModel) fill(g *apiGuardrails) {
	m.ID = types.StringValue(g.ProjectID)
	m.ProjectID = types.StringValue(g.ProjectID)
	m.UpdatedAt = stringOrNull(g.UpdatedAt)
	server, err := canonicalJSON(g.Rules)
	if err != nil {
		server = string(g.Rules)
	}
	if !m.Rules.IsNull() && !m.Rules.IsUnknown() {
		if mine, err := canonicalJSON([]byte(m.Rules.ValueString())); err == nil && mine == server {
			return
		}
	}
	m.Rules = types.StringValue(server)
}

func (r *guardrailsResource) put(ctx context.Context, m *guardrailsModel, rules json.RawMessage) error {
	var g apiGuardrails
	if err := r.c.Do(ctx, http.MethodPut, "/projects/"+m.ProjectID.ValueString()+"/guardrails", rules, &g); err != nil {
		return err
	}
	m.fill(&g)
	return nil
}

func (r *guardrailsResource) apply(ctx context.Context, plan tfsdkGetter, state tfsdkSetter, diags diagAppender) {
	var m guardrailsModel
	diags.Append(plan.Get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	raw := json.RawMessage(m.Rules.ValueString())
	if !json.Valid(raw) {
		diags.AddAttributeError(path.Root("rules"), "Invalid rules", "rules is not valid JSON")
		return
	}
	planned := m.Rules
	if err := r.put(ctx, &m, raw); err != nil {
		diags.AddError("Setting the guardrails failed", err.Error())
		return
	}
	// The state after an apply is what was planned; a server that spells the
	// rules differently shows at the next refresh.
	m.Rules = planned
	diags.Append(state.Set(ctx, &m)...)
}

func (r *guardrailsResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *guardrailsResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics)
}

func (r *guardrailsResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m guardrailsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var g apiGuardrails
	if err := r.c.Do(ctx, http.MethodGet, "/projects/"+m.ProjectID.ValueString()+"/guardrails", nil, &g); err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the guardrails failed", err.Error())
		return
	}
	m.fill(&g)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *guardrailsResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m guardrailsModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.c.Do(ctx, http.MethodPut, "/projects/"+m.ProjectID.ValueString()+"/guardrails", map[string]any{}, nil)
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Turning the guardrails off failed", err.Error())
	}
}

func (r *guardrailsResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), req.ID)...)
}
