package provider

import (
	"context"
	"net/http"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// A cloud account's credentials never reach the state: they are given either
// as the write-only `credentials` (OpenTofu/Terraform 1.11 and later send it
// to the provider and store null) or as `credentials_env`, a map of field ->
// environment variable the provider reads at plan and apply time. The state
// keeps only their SHA-256 (credentials_sha256), so a change is seen and
// replaces the account (the API has no update of credentials).
type accountResource struct {
	clientHolder
	getenv func(string) string
}

func newAccountResource() resource.Resource { return &accountResource{getenv: os.Getenv} }

var (
	_ resource.ResourceWithModifyPlan  = (*accountResource)(nil)
	_ resource.ResourceWithImportState = (*accountResource)(nil)
)

type accountModel struct {
	ID                types.String `tfsdk:"id"`
	ProjectID         types.String `tfsdk:"project_id"`
	Name              types.String `tfsdk:"name"`
	Cloud             types.String `tfsdk:"cloud"`
	Credentials       types.Map    `tfsdk:"credentials"`
	CredentialsEnv    types.Map    `tfsdk:"credentials_env"`
	CredentialsSHA256 types.String `tfsdk:"credentials_sha256"`
	Hint              types.String `tfsdk:"hint"`
	CreatedAt         types.String `tfsdk:"created_at"`
}

type apiAccount struct {
	ID        string  `json:"id"`
	ProjectID string  `json:"project_id"`
	Name      string  `json:"name"`
	Cloud     string  `json:"cloud"`
	Hint      *string `json:"hint"`
	CreatedAt string  `json:"created_at"`
}

func (r *accountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cloud_account"
}

func (r *accountResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		Description: "A cloud account of a project. Its credentials are never stored in the state in clear: give them " +
			"as the write-only `credentials` (needs OpenTofu/Terraform 1.11 or later) or name environment variables " +
			"in `credentials_env`; the state keeps their SHA-256 only, and a change replaces the account. The fields " +
			"are the catalog's for the cloud (`cloudplane_catalog`); a sandbox account's generated key may be left out. " +
			"Import with `<project_id>/<account_id>` (the next apply records the credentials' hash in place).",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Account id."},
			"project_id": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Project id."},
			"name":       schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Name; a change replaces the account."},
			"cloud": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Validators:  []validator.String{oneOf("aws", "azure", "gcp", "sandbox")},
				Description: "aws, azure, gcp or sandbox."},
			"credentials": schema.MapAttribute{ElementType: types.StringType, Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Write-only credential fields (never stored). Needs a client that supports write-only attributes (OpenTofu/Terraform 1.11+); with older ones use credentials_env."},
			"credentials_env": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				Description: "Credential field -> name of the environment variable holding its value, read by the provider at plan and apply time. Only the names are stored; renaming a variable whose value is the same changes nothing on the server."},
			"credentials_sha256": schema.StringAttribute{Computed: true,
				Description: "SHA-256 of the credentials given (null when none): how a change is noticed without storing them."},
			"hint":       schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "A non-secret reminder the server shows (e.g. the key's last characters)."},
			"created_at": schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "Creation time."},
		},
	}
}

func (r *accountResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var direct, env types.Map
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("credentials"), &direct)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("credentials_env"), &env)...)
	if resp.Diagnostics.HasError() {
		return
	}
	values, given, known := resolveSecretMap(ctx, direct, env, r.getenv, "credentials", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	planned := types.StringNull()
	switch {
	case !known:
		planned = types.StringUnknown()
	case given:
		planned = types.StringValue(secretHash(values))
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("credentials_sha256"), planned)...)
	if req.State.Raw.IsNull() {
		return
	}
	var old types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("credentials_sha256"), &old)...)
	// An imported account has no hash yet: the first apply records it in place.
	if !old.IsNull() && !old.Equal(planned) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("credentials_sha256"))
	}
}

func (m *accountModel) fill(a *apiAccount) {
	m.ID = types.StringValue(a.ID)
	m.ProjectID = types.StringValue(a.ProjectID)
	m.Name = types.StringValue(a.Name)
	m.Cloud = types.StringValue(a.Cloud)
	m.Hint = stringOrNull(a.Hint)
	m.CreatedAt = types.StringValue(a.CreatedAt)
	m.Credentials = types.MapNull(types.StringType) // write-only: never in state
}

func (r *accountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m accountModel
	var direct types.Map
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("credentials"), &direct)...)
	if resp.Diagnostics.HasError() {
		return
	}
	values, given, _ := resolveSecretMap(ctx, direct, m.CredentialsEnv, r.getenv, "credentials", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	body := map[string]any{"name": m.Name.ValueString(), "cloud": m.Cloud.ValueString()}
	m.CredentialsSHA256 = types.StringNull()
	if given {
		body["credentials"] = values
		m.CredentialsSHA256 = types.StringValue(secretHash(values))
	}
	var a apiAccount
	if err := r.c.Do(ctx, http.MethodPost, "/projects/"+m.ProjectID.ValueString()+"/accounts", body, &a); err != nil {
		resp.Diagnostics.AddError("Creating the cloud account failed", err.Error())
		return
	}
	m.fill(&a)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *accountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m accountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	accounts, err := client.List[apiAccount](ctx, r.c, "/projects/"+m.ProjectID.ValueString()+"/accounts")
	if err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the cloud account failed", err.Error())
		return
	}
	for i := range accounts {
		if accounts[i].ID == m.ID.ValueString() {
			m.fill(&accounts[i])
			resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
			return
		}
	}
	resp.State.RemoveResource(ctx)
}

// Update only records the credentials' hash of an imported account or new
// credentials_env names; every other change replaces the account.
func (r *accountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m accountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Credentials = types.MapNull(types.StringType)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *accountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m accountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	err := r.c.Do(ctx, http.MethodDelete, "/accounts/"+m.ID.ValueString(), nil, nil)
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Deleting the cloud account failed", err.Error())
	}
}

func (r *accountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	pid, id, err := splitID(req.ID, "<project_id>/<account_id>")
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), pid)...)
}
