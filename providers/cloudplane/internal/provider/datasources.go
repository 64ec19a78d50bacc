package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

type dsClientHolder struct{ c *client.Client }

func (h *dsClientHolder) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if c := configureClient(req.ProviderData, &resp.Diagnostics); c != nil {
		h.c = c
	}
}

// cloudplane_catalog: what can be ordered.
type catalogDataSource struct{ dsClientHolder }

func newCatalogDataSource() datasource.DataSource { return &catalogDataSource{} }

type catalogModel struct {
	Version types.Int64  `tfsdk:"version"`
	Clouds  types.List   `tfsdk:"clouds"`
	JSON    types.String `tfsdk:"json"`
}

func (d *catalogDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_catalog"
}

func (d *catalogDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The server's catalog: clouds with their credential fields, kinds, regions and sizes with prices.",
		Attributes: map[string]schema.Attribute{
			"version": schema.Int64Attribute{Computed: true, Description: "Catalog version."},
			"clouds": schema.ListNestedAttribute{Computed: true, Description: "The clouds, in the server's order.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":                schema.StringAttribute{Computed: true, Description: "aws, azure, gcp or sandbox."},
					"name":              schema.StringAttribute{Computed: true, Description: "Display name."},
					"simulated":         schema.BoolAttribute{Computed: true, Description: "Runs are simulated (no real cloud)."},
					"credential_fields": schema.ListAttribute{ElementType: types.StringType, Computed: true, Description: "Names of the credential fields of a cloud account."},
					"kinds":             schema.ListAttribute{ElementType: types.StringType, Computed: true, Description: "Resource kinds (vm, storage)."},
				}},
			},
			"json": schema.StringAttribute{Computed: true, Description: "The whole catalog as JSON (regions, sizes, prices, name rules): use jsondecode()."},
		},
	}
}

var cloudAttrTypes = map[string]attrType{
	"id": types.StringType, "name": types.StringType, "simulated": types.BoolType,
	"credential_fields": types.ListType{ElemType: types.StringType}, "kinds": types.ListType{ElemType: types.StringType},
}

func (d *catalogDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	var raw json.RawMessage
	if err := d.c.Do(ctx, http.MethodGet, "/catalog", nil, &raw); err != nil {
		resp.Diagnostics.AddError("Reading the catalog failed", err.Error())
		return
	}
	var cat struct {
		Version int64 `json:"version"`
		Clouds  []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Simulated   bool   `json:"simulated"`
			Credentials []struct {
				Name string `json:"name"`
			} `json:"credentials"`
			Kinds []struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			} `json:"kinds"`
		} `json:"clouds"`
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		resp.Diagnostics.AddError("Reading the catalog failed", fmt.Sprintf("decoding: %v", err))
		return
	}
	type cloud struct {
		ID               string   `tfsdk:"id"`
		Name             string   `tfsdk:"name"`
		Simulated        bool     `tfsdk:"simulated"`
		CredentialFields []string `tfsdk:"credential_fields"`
		Kinds            []string `tfsdk:"kinds"`
	}
	clouds := make([]cloud, 0, len(cat.Clouds))
	for _, c := range cat.Clouds {
		x := cloud{ID: c.ID, Name: c.Name, Simulated: c.Simulated, CredentialFields: []string{}, Kinds: []string{}}
		for _, f := range c.Credentials {
			x.CredentialFields = append(x.CredentialFields, f.Name)
		}
		for _, k := range c.Kinds {
			if k.ID != "" {
				x.Kinds = append(x.Kinds, k.ID)
			} else {
				x.Kinds = append(x.Kinds, k.Kind)
			}
		}
		clouds = append(clouds, x)
	}
	list, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: cloudAttrTypes}, clouds)
	resp.Diagnostics.Append(diags...)
	canon, err := canonicalJSON(raw)
	if err != nil {
		canon = string(raw)
	}
	m := catalogModel{Version: types.Int64Value(cat.Version), Clouds: list, JSON: types.StringValue(canon)}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// cloudplane_resource: one ordered resource, by id.
type resourceDataSource struct{ dsClientHolder }

func newResourceDataSource() datasource.DataSource { return &resourceDataSource{} }

type resourceDSModel struct {
	ID             types.String  `tfsdk:"id"`
	ProjectID      types.String  `tfsdk:"project_id"`
	AccountID      types.String  `tfsdk:"account_id"`
	Cloud          types.String  `tfsdk:"cloud"`
	Kind           types.String  `tfsdk:"kind"`
	Name           types.String  `tfsdk:"name"`
	Region         types.String  `tfsdk:"region"`
	Size           types.String  `tfsdk:"size"`
	Status         types.String  `tfsdk:"status"`
	Outputs        types.Map     `tfsdk:"outputs"`
	MonthlyCostUSD types.Float64 `tfsdk:"monthly_cost_usd"`
	DriftStatus    types.String  `tfsdk:"drift_status"`
	ExpiresAt      types.String  `tfsdk:"expires_at"`
	Protected      types.Bool    `tfsdk:"protected"`
}

func (d *resourceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}

func (d *resourceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}
	resp.Schema = schema.Schema{
		Description: "A resource ordered through cloudplane (a VM or a storage bucket), by id.",
		Attributes: map[string]schema.Attribute{
			"id":               schema.StringAttribute{Required: true, Description: "Resource id."},
			"project_id":       str("Project id."),
			"account_id":       str("Cloud account id."),
			"cloud":            str("aws, azure, gcp or sandbox."),
			"kind":             str("vm or storage."),
			"name":             str("Name."),
			"region":           str("Region."),
			"size":             str("VM size; null for storage."),
			"status":           str("pending, provisioning, active, updating, destroying, destroyed or failed."),
			"outputs":          schema.MapAttribute{ElementType: types.StringType, Computed: true, Description: "vm: id, public_ip, private_ip; storage: id, name, url (values that are not strings as JSON)."},
			"monthly_cost_usd": schema.Float64Attribute{Computed: true, Description: "Monthly cost at catalog prices."},
			"drift_status":     str("in_sync, drifted, missing, check_failed or never_checked."),
			"expires_at":       str("When the platform destroys it; null: never."),
			"protected":        schema.BoolAttribute{Computed: true, Description: "Protected from destroy and replacement."},
		},
	}
}

func (d *resourceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m resourceDSModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var r struct {
		ProjectID      string                     `json:"project_id"`
		AccountID      string                     `json:"account_id"`
		Cloud          string                     `json:"cloud"`
		Kind           string                     `json:"kind"`
		Name           string                     `json:"name"`
		Region         string                     `json:"region"`
		Size           *string                    `json:"size"`
		Status         string                     `json:"status"`
		Outputs        map[string]json.RawMessage `json:"outputs"`
		MonthlyCostUSD float64                    `json:"monthly_cost_usd"`
		DriftStatus    string                     `json:"drift_status"`
		ExpiresAt      *string                    `json:"expires_at"`
		Protected      bool                       `json:"protected"`
	}
	if err := d.c.Do(ctx, http.MethodGet, "/resources/"+m.ID.ValueString(), nil, &r); err != nil {
		resp.Diagnostics.AddError("Reading the resource failed", err.Error())
		return
	}
	outs := map[string]string{}
	for k, v := range r.Outputs {
		var s string
		if json.Unmarshal(v, &s) == nil {
			outs[k] = s
		} else {
			outs[k] = string(v)
		}
	}
	m.ProjectID, m.AccountID, m.Cloud = types.StringValue(r.ProjectID), types.StringValue(r.AccountID), types.StringValue(r.Cloud)
	m.Kind, m.Name, m.Region = types.StringValue(r.Kind), types.StringValue(r.Name), types.StringValue(r.Region)
	m.Size, m.Status = stringOrNull(r.Size), types.StringValue(r.Status)
	om, diags := types.MapValueFrom(ctx, types.StringType, outs)
	resp.Diagnostics.Append(diags...)
	m.Outputs = om
	m.MonthlyCostUSD = types.Float64Value(r.MonthlyCostUSD)
	m.DriftStatus, m.ExpiresAt, m.Protected = types.StringValue(r.DriftStatus), stringOrNull(r.ExpiresAt), types.BoolValue(r.Protected)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
