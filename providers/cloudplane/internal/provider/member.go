package provider

import (
	"context"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// Members join a project only by accepting an invitation (api/invitations.c):
// this resource invites the email and tracks the invitation until it is
// accepted, then the membership.
type memberResource struct{ clientHolder }

func newMemberResource() resource.Resource { return &memberResource{} }

type memberModel struct {
	ID           types.String `tfsdk:"id"`
	ProjectID    types.String `tfsdk:"project_id"`
	Email        types.String `tfsdk:"email"`
	Role         types.String `tfsdk:"role"`
	Status       types.String `tfsdk:"status"`
	UserID       types.String `tfsdk:"user_id"`
	InvitationID types.String `tfsdk:"invitation_id"`
}

type apiMember struct {
	UserID string `json:"user_id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
}

type apiInvitation struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

var roleValidator = oneOf("owner", "admin", "member", "viewer")

func (r *memberResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project_member"
}

func (r *memberResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A member of a project, by invitation: creating it invites the email (the server mails the link); " +
			"status is `pending` until the person accepts, then `member`. A role change updates the membership, or " +
			"re-invites while pending. Deleting removes the member or revokes the pending invitation. An invitation " +
			"that is declined, expires or is revoked elsewhere leaves the state, and the next apply invites again. " +
			"Import with `<project_id>/<email>`.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}, Description: "`<project_id>/<email>`."},
			"project_id": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Project id."},
			"email":      schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "The invited email (compared case-insensitively)."},
			"role": schema.StringAttribute{Required: true, Validators: []validator.String{roleValidator},
				Description: "owner, admin, member or viewer (inviting an owner takes an owner's token)."},
			"status":        schema.StringAttribute{Computed: true, Description: "`pending` (invited) or `member` (accepted)."},
			"user_id":       schema.StringAttribute{Computed: true, Description: "The member's user id; null while pending."},
			"invitation_id": schema.StringAttribute{Computed: true, Description: "The pending invitation's id; null once a member."},
		},
	}
}

func (r *memberResource) find(ctx context.Context, projectID, email string) (*apiMember, *apiInvitation, error) {
	members, err := client.List[apiMember](ctx, r.c, "/projects/"+projectID+"/members")
	if err != nil {
		return nil, nil, err
	}
	for i := range members {
		if strings.EqualFold(members[i].Email, email) {
			return &members[i], nil, nil
		}
	}
	invs, err := client.List[apiInvitation](ctx, r.c, "/projects/"+projectID+"/invitations")
	if err != nil {
		return nil, nil, err
	}
	for i := range invs {
		if strings.EqualFold(invs[i].Email, email) && invs[i].Status == "pending" {
			return nil, &invs[i], nil
		}
	}
	return nil, nil, nil
}

func (m *memberModel) fill(mem *apiMember, inv *apiInvitation) {
	m.ID = types.StringValue(m.ProjectID.ValueString() + "/" + m.Email.ValueString())
	if mem != nil {
		m.Status, m.UserID, m.InvitationID = types.StringValue("member"), types.StringValue(mem.UserID), types.StringNull()
		m.Role = types.StringValue(mem.Role)
		if !strings.EqualFold(m.Email.ValueString(), mem.Email) || m.Email.IsNull() {
			m.Email = types.StringValue(mem.Email)
		}
		return
	}
	m.Status, m.UserID, m.InvitationID = types.StringValue("pending"), types.StringNull(), types.StringValue(inv.ID)
	m.Role = types.StringValue(inv.Role)
}

func (r *memberResource) invite(ctx context.Context, m *memberModel) error {
	pid := m.ProjectID.ValueString()
	var inv apiInvitation
	err := r.c.Do(ctx, http.MethodPost, "/projects/"+pid+"/invitations",
		map[string]any{"email": m.Email.ValueString(), "role": m.Role.ValueString()}, &inv)
	if client.IsCode(err, "already_member") {
		mem, _, ferr := r.find(ctx, pid, m.Email.ValueString())
		if ferr != nil {
			return ferr
		}
		if mem == nil {
			return err
		}
		if mem.Role != m.Role.ValueString() {
			if err := r.c.Do(ctx, http.MethodPatch, "/projects/"+pid+"/members/"+mem.UserID,
				map[string]any{"role": m.Role.ValueString()}, mem); err != nil {
				return err
			}
		}
		m.fill(mem, nil)
		return nil
	}
	if err != nil {
		return err
	}
	m.fill(nil, &inv)
	return nil
}

func (r *memberResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m memberModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.invite(ctx, &m); err != nil {
		resp.Diagnostics.AddError("Inviting the member failed", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *memberResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m memberModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	mem, inv, err := r.find(ctx, m.ProjectID.ValueString(), m.Email.ValueString())
	if err != nil {
		if client.IsStatus(err, http.StatusNotFound) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Reading the member failed", err.Error())
		return
	}
	if mem == nil && inv == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	m.fill(mem, inv)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *memberResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m memberModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	pid := m.ProjectID.ValueString()
	mem, _, err := r.find(ctx, pid, m.Email.ValueString())
	if err == nil && mem != nil {
		err = r.c.Do(ctx, http.MethodPatch, "/projects/"+pid+"/members/"+mem.UserID,
			map[string]any{"role": m.Role.ValueString()}, mem)
		if err == nil {
			m.fill(mem, nil)
		}
	} else if err == nil {
		err = r.invite(ctx, &m) // a newer invitation replaces the pending one
	}
	if err != nil {
		resp.Diagnostics.AddError("Updating the member failed", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *memberResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m memberModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	pid := m.ProjectID.ValueString()
	mem, inv, err := r.find(ctx, pid, m.Email.ValueString())
	switch {
	case err != nil:
	case mem != nil:
		err = r.c.Do(ctx, http.MethodDelete, "/projects/"+pid+"/members/"+mem.UserID, nil, nil)
	case inv != nil:
		err = r.c.Do(ctx, http.MethodDelete, "/projects/"+pid+"/invitations/"+inv.ID, nil, nil)
	}
	if err != nil && !client.IsStatus(err, http.StatusNotFound) {
		resp.Diagnostics.AddError("Removing the member failed", err.Error())
	}
}

func (r *memberResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	pid, email, err := splitID(req.ID, "<project_id>/<email>")
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), pid)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("email"), email)...)
}
