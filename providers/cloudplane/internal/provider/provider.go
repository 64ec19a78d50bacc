// Package provider implements the cloudplane/cloudplane OpenTofu provider.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// Env variables read when the provider block leaves a setting out.
const (
	EnvURL   = "CLOUDPLANE_URL"
	EnvToken = "CLOUDPLANE_TOKEN"
)

var _ provider.Provider = (*cloudplaneProvider)(nil)

type cloudplaneProvider struct {
	version string
	getenv  func(string) string
}

// New returns a constructor for the provider server.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &cloudplaneProvider{version: version, getenv: os.Getenv} }
}

type providerModel struct {
	URL   types.String `tfsdk:"url"`
	Token types.String `tfsdk:"token"`
}

func (p *cloudplaneProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "cloudplane"
	resp.Version = p.version
}

func (p *cloudplaneProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages a cloudplane server's projects, members, cloud accounts, guardrails, webhooks and service tokens through its HTTP API, with an API token.",
		Attributes: map[string]schema.Attribute{
			"url": schema.StringAttribute{
				Optional:    true,
				Description: "Base URL of the cloudplane server, e.g. https://cloudplane.example.com. Defaults to $" + EnvURL + ".",
			},
			"token": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "An API token (cpt_…): a personal token with the admin scope to manage projects, or a project service token. Defaults to $" + EnvToken + ".",
			},
		},
	}
}

func (p *cloudplaneProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.URL.IsUnknown() || cfg.Token.IsUnknown() {
		resp.Diagnostics.AddError("Unknown cloudplane provider setting",
			"url and token must be known when the provider is configured; they cannot depend on a value known only after apply.")
		return
	}
	url := cfg.URL.ValueString()
	if url == "" {
		url = p.getenv(EnvURL)
	}
	token := cfg.Token.ValueString()
	if token == "" {
		token = p.getenv(EnvToken)
	}
	if url == "" {
		resp.Diagnostics.AddAttributeError(path.Root("url"), "Missing cloudplane URL",
			"set url in the provider block or the "+EnvURL+" environment variable.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing cloudplane API token",
			"set token in the provider block or the "+EnvToken+" environment variable.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := client.New(url, token, "terraform-provider-cloudplane/"+p.version)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("url"), "Invalid cloudplane provider configuration", err.Error())
		return
	}
	resp.ResourceData = c
	resp.DataSourceData = c
}

func (p *cloudplaneProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newProjectResource, newMemberResource, newAccountResource,
		newGuardrailsResource, newWebhookResource, newProjectTokenResource,
	}
}

func (p *cloudplaneProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newCatalogDataSource, newResourceDataSource}
}
