// Package provider implements the cloudplane/sandbox OpenTofu provider.
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
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/cloudplane/cloudplane/providers/sandbox/internal/client"
)

// Env variables read when the provider block leaves a setting out.
const (
	EnvEndpoint = "SANDBOX_ENDPOINT"
	EnvAPIKey   = "SANDBOX_API_KEY"
)

var _ provider.Provider = (*sandboxProvider)(nil)

type sandboxProvider struct {
	version string
	// getenv is os.Getenv, replaceable in tests.
	getenv func(string) string
}

// New returns a constructor for the provider server.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &sandboxProvider{version: version, getenv: os.Getenv}
	}
}

type providerModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
	APIKey   types.String `tfsdk:"api_key"`
}

func (p *sandboxProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "sandbox"
	resp.Version = p.version
}

func (p *sandboxProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The cloudplane sandbox cloud: a simulated cloud whose objects live in cloudplane's own store.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Optional:    true,
				Description: "Base URL of the sandbox API, e.g. http://127.0.0.1:8080. Defaults to $" + EnvEndpoint + ".",
			},
			"api_key": schema.StringAttribute{
				Optional:    true,
				Sensitive:   true,
				Description: "API key for the sandbox API. Defaults to $" + EnvAPIKey + ".",
			},
		},
	}
}

func (p *sandboxProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if cfg.Endpoint.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Unknown sandbox endpoint",
			"The sandbox endpoint must be known when the provider is configured; it cannot depend on a value known only after apply.")
	}
	if cfg.APIKey.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Unknown sandbox API key",
			"The sandbox API key must be known when the provider is configured; it cannot depend on a value known only after apply.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	endpoint := cfg.Endpoint.ValueString()
	if endpoint == "" {
		endpoint = p.getenv(EnvEndpoint)
	}
	apiKey := cfg.APIKey.ValueString()
	if apiKey == "" {
		apiKey = p.getenv(EnvAPIKey)
	}
	if apiKey == "" {
		resp.Diagnostics.AddAttributeError(path.Root("api_key"), "Missing sandbox API key",
			"the sandbox provider needs an API key (SANDBOX_API_KEY): set api_key in the provider block or the SANDBOX_API_KEY environment variable.")
	}
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing sandbox endpoint",
			"the sandbox provider needs an endpoint (SANDBOX_ENDPOINT): set endpoint in the provider block or the SANDBOX_ENDPOINT environment variable, e.g. http://127.0.0.1:8080.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	c, err := client.New(endpoint, apiKey, "terraform-provider-sandbox/"+p.version)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid sandbox provider configuration", err.Error())
		return
	}
	tflog.Debug(ctx, "sandbox provider configured", map[string]any{"endpoint": endpoint})
	resp.ResourceData = c
	resp.DataSourceData = c
}

func (p *sandboxProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newInstanceResource, newBucketResource}
}

func (p *sandboxProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}
