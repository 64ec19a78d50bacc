package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

// configureClient is the Configure of every resource and data source.
func configureClient(data any, diags *diag.Diagnostics) *client.Client {
	if data == nil {
		return nil
	}
	c, ok := data.(*client.Client)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *client.Client, got %T", data))
		return nil
	}
	return c
}

type clientHolder struct{ c *client.Client }

func (h *clientHolder) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if c := configureClient(req.ProviderData, &resp.Diagnostics); c != nil {
		h.c = c
	}
}

// splitID splits an import id "a/b" in two non-empty parts.
func splitID(id, what string) (string, string, error) {
	a, b, ok := strings.Cut(id, "/")
	if !ok || a == "" || b == "" || strings.Contains(b, "/") {
		return "", "", fmt.Errorf("import id %q: expected %s", id, what)
	}
	return a, b, nil
}

// secretHash is the SHA-256 of a secret value or of a map of them (keys
// sorted), hex: what the state keeps to notice a change, never the value.
func secretHash(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		b, _ := json.Marshal([]string{k, values[k]})
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolveSecretMap gives the secret values from a write-only map (direct) or
// a map of field name -> environment variable (env), read here, at plan and
// apply time. ok is false when neither is set. Unknown values make known false.
func resolveSecretMap(ctx context.Context, direct, env types.Map, getenv func(string) string, attr string, diags *diag.Diagnostics) (values map[string]string, ok, known bool) {
	if direct.IsUnknown() || env.IsUnknown() {
		return nil, false, false
	}
	values = map[string]string{}
	if !direct.IsNull() {
		var m map[string]string
		diags.Append(direct.ElementsAs(ctx, &m, false)...)
		for k, v := range m {
			values[k] = v
		}
		ok = true
	}
	if !env.IsNull() {
		var m map[string]string
		diags.Append(env.ElementsAs(ctx, &m, false)...)
		for k, name := range m {
			v := getenv(name)
			if v == "" {
				diags.AddError("Missing secret in the environment",
					fmt.Sprintf("%s_env[%q] names the environment variable %s, which is not set or empty.", attr, k, name))
				continue
			}
			values[k] = v
		}
		ok = true
	}
	return values, ok, true
}

// resolveSecret is resolveSecretMap for one value (attribute attr, attr_env).
func resolveSecret(direct, env types.String, getenv func(string) string, attr string, diags *diag.Diagnostics) (value string, ok, known bool) {
	if direct.IsUnknown() || env.IsUnknown() {
		return "", false, false
	}
	if !direct.IsNull() {
		return direct.ValueString(), true, true
	}
	if !env.IsNull() {
		v := getenv(env.ValueString())
		if v == "" {
			diags.AddError("Missing secret in the environment",
				fmt.Sprintf("%s_env names the environment variable %s, which is not set or empty.", attr, env.ValueString()))
			return "", false, true
		}
		return v, true, true
	}
	return "", false, true
}

func stringOrNull(p *string) types.String {
	if p == nil {
		return types.StringNull()
	}
	return types.StringValue(*p)
}

func int64OrNull(p *int64) types.Int64 {
	if p == nil {
		return types.Int64Null()
	}
	return types.Int64Value(*p)
}

func float64OrNull(p *float64) types.Float64 {
	if p == nil {
		return types.Float64Null()
	}
	return types.Float64Value(*p)
}

func stringSet(ctx context.Context, xs []string, diags *diag.Diagnostics) types.Set {
	s, d := types.SetValueFrom(ctx, types.StringType, xs)
	diags.Append(d...)
	return s
}

func setStrings(ctx context.Context, s types.Set, diags *diag.Diagnostics) []string {
	var xs []string
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	diags.Append(s.ElementsAs(ctx, &xs, false)...)
	sort.Strings(xs)
	return xs
}

type tfsdkGetter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

type tfsdkSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

type diagAppender interface {
	Append(in ...diag.Diagnostic)
	AddError(summary, detail string)
	AddAttributeError(p path.Path, summary, detail string)
	HasError() bool
}

type attrType = attr.Type

type attrValue = attr.Value
