package provider

import (
	"context"
	"net/http"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// The signing secret is handled like a cloud account's credentials: the
// write-only `secret` or `secret_env`, only its SHA-256 in the state. A new
// secret is sent with PATCH (no replacement).
type webhookResource struct {
	clientHolder
	getenv func(string) string
}

func newWebhookResource() resource.Resource { return &webhookResource{getenv: os.Getenv} }

var _ resource.ResourceWithModifyPlan = (*webhookResource)(nil)

type webhookModel struct {
	ID           types.String `tfsdk:"id"`
	ProjectID    types.String `tfsdk:"project_id"`
	URL          types.String `tfsdk:"url"`
	Events       types.Set    `tfsdk:"events"`
	Enabled      types.Bool   `tfsdk:"enabled"`
	Secret       types.String `tfsdk:"secret"`
	SecretEnv    types.String `tfsdk:"secret_env"`
	SecretSHA256 types.String `tfsdk:"secret_sha256"`
	SecretHint   types.String `tfsdk:"secret_hint"`
	CreatedAt    types.String `tfsdk:"created_at"`
}

type apiWebhook struct {
	ID         string   `json:"id"`
	ProjectID  string   `json:"project_id"`
	URL        string   `json:"url"`
	Events     []string `json:"events"`
	Enabled    bool     `json:"enabled"`
	SecretHint string   `json:"secret_hint"`
	CreatedAt  string   `json:"created_at"`
}

func (r *webhookResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_webhook"
}

func (r *webhookResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A project webhook. The signing secret is never stored in the state in clear: give it as the " +
			"write-only `secret` (OpenTofu/Terraform 1.11+) or name an environment variable in `secret_env`; the " +
			"state keeps its SHA-256, and a new secret is sent in place. Without either the server generates one, " +
			"which this resource does not keep (set one to verify signatures). Import with the webhook id.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Webhook id."},
			"project_id": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Description: "Project id."},
			"url": schema.StringAttribute{Required: true, Description: "http(s) URL the deliveries are POSTed to."},
			"events": schema.SetAttribute{ElementType: types.StringType, Required: true,
				Description: "Events: run.needs_approval, run.succeeded, run.failed, resource.drifted, resource.expiring, resource.expired, guardrail.blocked."},
			"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Deliveries go out (default true); while false they wait."},
			"secret": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Write-only signing secret (16 to 256 printable ASCII characters); never stored."},
			"secret_env": schema.StringAttribute{Optional: true,
				Description: "Name of the environment variable holding the signing secret, read at plan and apply time."},
			"secret_sha256": schema.StringAttribute{Computed: true, Description: "SHA-256 of the secret given (null when none)."},
			"secret_hint":   schema.StringAttribute{Computed: true, Description: "The secret's last 4 characters, as the server shows them."},
			"created_at":    schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Creation time."},
		},
	}
}

func (r *webhookResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var direct, env types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret"), &direct)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_env"), &env)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, given, known := resolveSecret(direct, env, r.getenv, "secret", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	planned := types.StringNull()
	switch {
	case !known:
		planned = types.StringUnknown()
	case given:
		planned = types.StringValue(secretHash(map[string]string{"": v}))
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secret_sha256"), planned)...)
	var old types.String
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("secret_sha256"), &old)...)
	}
	hint := types.StringUnknown()
	if !req.State.Raw.IsNull() && (old.Equal(planned) || planned.IsNull()) {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("secret_hint"), &hint)...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secret_hint"), hint)...)
}

func (m *webhookModel) fill(ctx context.Context, w *apiWebhook, diags diagAppender) {
	m.ID = types.StringValue(w.ID)
	m.ProjectID = types.StringValue(w.ProjectID)
	m.URL = types.StringValue(w.URL)
	s, d := types.SetValueFrom(ctx, types.StringType, w.Events)
	diags.Append(d...)
	m.Events = s
	m.Enabled = types.BoolValue(w.Enabled)
	m.SecretHint = types.StringValue(w.SecretHint)
	m.CreatedAt = types.StringValue(w.CreatedAt)
	m.Secret = types.StringNull()
}

func (r *webhookResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m webhookModel
	var direct types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret"), &direct)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, given, _ := resolveSecret(direct, m.SecretEnv, r.getenv, "secret", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"url": m.URL.ValueString(), "events": setStrings(ctx, m.Events, &resp.Diagnostics),
		"enabled": m.Enabled.ValueBool()}
	if given {
		body["secret"] = v
	}
	var w apiWebhook // the reply's secret is not decoded: it is not kept
	if err := r.c.Do(ctx, http.MethodPost, "/projects/"+m.ProjectID.ValueString()+"/webhooks", body, &w); err != nil {
		resp.Diagnostics.AddError("Creating the webhook failed", err.Error())
		return
	}
	m.fill(ctx, &w, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *webhookResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m webhookModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var w apiWebhook
	if err := r.c.Do(ctx, http.MethodGet, "/webhooks/"+m.ID.ValueString(), nil, &w); err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the webhook failed", err.Error())
		return
	}
	m.fill(ctx, &w, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *webhookResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, st webhookModel
	var direct types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret"), &direct)...)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"url": m.URL.ValueString(), "events": setStrings(ctx, m.Events, &resp.Diagnostics),
		"enabled": m.Enabled.ValueBool()}
	if !m.SecretSHA256.IsNull() && !m.SecretSHA256.Equal(st.SecretSHA256) {
		v, given, _ := resolveSecret(direct, m.SecretEnv, r.getenv, "secret", &resp.Diagnostics)
		if given {
			body["secret"] = v
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	var w apiWebhook
	if err := r.c.Do(ctx, http.MethodPatch, "/webhooks/"+st.ID.ValueString(), body, &w); err != nil {
		resp.Diagnostics.AddError("Updating the webhook failed", err.Error())
		return
	}
	m.fill(ctx, &w, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *webhookResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m webhookModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.c.Do(ctx, http.MethodDelete, "/webhooks/"+m.ID.ValueString(), nil, nil)
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Deleting the webhook failed", err.Error())
	}
}

func (r *webhookResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}
