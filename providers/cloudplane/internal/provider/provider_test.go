package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/client"
)

func TestSchemasAreValid(t *testing.T) {
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("%s: %s", d.Summary, d.Detail)
	}
	want := []string{"cloudplane_project", "cloudplane_project_member", "cloudplane_cloud_account",
		"cloudplane_guardrails", "cloudplane_webhook", "cloudplane_project_token"}
	for _, name := range want {
		s, ok := resp.ResourceSchemas[name]
		if !ok {
			t.Errorf("no resource %s", name)
			continue
		}
		for _, a := range s.Block.Attributes {
			if (a.Name == "credentials" || a.Name == "secret") && !(a.WriteOnly && a.Sensitive) {
				t.Errorf("%s.%s must be write-only and sensitive", name, a.Name)
			}
			if a.Name == "token" && !(a.Sensitive && a.Computed) {
				t.Errorf("%s.token must be sensitive and computed", name)
			}
		}
	}
	for _, name := range []string{"cloudplane_catalog", "cloudplane_resource"} {
		if _, ok := resp.DataSourceSchemas[name]; !ok {
			t.Errorf("no data source %s", name)
		}
	}
}

// docs/ (tools/docs.sh, tfplugindocs) covers the schema: a page per resource
// and data source listing every attribute, with the description it has now.
// Run tools/docs.sh after a schema change.
func TestDocsCoverTheSchema(t *testing.T) {
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(kind, name string, s *tfprotov6.Schema) {
		page := filepath.Join("..", "..", "docs", kind, strings.TrimPrefix(name, "cloudplane_")+".md")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s: %v (run tools/docs.sh)", name, err)
			return
		}
		text := string(b)
		if !strings.Contains(text, s.Block.Description) {
			t.Errorf("%s: description is stale (run tools/docs.sh)", page)
		}
		for _, a := range s.Block.Attributes {
			if !strings.Contains(text, "- `"+a.Name+"` (") || !strings.Contains(text, a.Description) {
				t.Errorf("%s: attribute %s missing or stale (run tools/docs.sh)", page, a.Name)
			}
		}
	}
	for name, s := range resp.ResourceSchemas {
		check("resources", name, s)
	}
	for name, s := range resp.DataSourceSchemas {
		check("data-sources", name, s)
	}
	check("", "index", resp.Provider)
}

func TestCanonicalJSONComparesByMeaning(t *testing.T) {
	a, err1 := canonicalJSON([]byte(`{"b": {"vcpu": 4.0, "level": "soft"}, "a": {"level": "hard", "x": null}}`))
	b, err2 := canonicalJSON([]byte(`{"a":{"level":"hard"},"b":{"level":"soft","vcpu":4}}`))
	if err1 != nil || err2 != nil || a != b {
		t.Fatalf("%q (%v) != %q (%v)", a, err1, b, err2)
	}
	c, _ := canonicalJSON([]byte(`{"a":{"level":"soft"},"b":{"level":"soft","vcpu":4}}`))
	if c == a {
		t.Fatal("different rules compare equal")
	}
}

func TestSecretHashChangesWithAnyValueAndHidesThem(t *testing.T) {
	h1 := secretHash(map[string]string{"api_key": "one", "region": "x"})
	h2 := secretHash(map[string]string{"region": "x", "api_key": "one"})
	h3 := secretHash(map[string]string{"api_key": "two", "region": "x"})
	h4 := secretHash(map[string]string{"api_key": "onex", "region": ""})
	if h1 != h2 || h1 == h3 || h1 == h4 || len(h1) != 64 || strings.Contains(h1, "one") {
		t.Fatalf("%s %s %s %s", h1, h2, h3, h4)
	}
}

func TestSecretsFromTheEnvironment(t *testing.T) {
	ctx := context.Background()
	env := types.MapValueMust(types.StringType, map[string]attrValue{"api_key": types.StringValue("CP_KEY")})
	getenv := func(k string) string {
		if k == "CP_KEY" {
			return "s3cr3t-value"
		}
		return ""
	}
	var diags diag.Diagnostics
	values, ok, known := resolveSecretMap(ctx, types.MapNull(types.StringType), env, getenv, "credentials", &diags)
	if diags.HasError() || !ok || !known || values["api_key"] != "s3cr3t-value" {
		t.Fatalf("%v %v %v %v", values, ok, known, diags)
	}
	values, _, _ = resolveSecretMap(ctx, types.MapNull(types.StringType), env, func(string) string { return "" }, "credentials", &diags)
	if !diags.HasError() || len(values) != 0 {
		t.Fatal("an unset variable must be an error")
	}
	if d := diags.Errors()[0].Detail(); !strings.Contains(d, "CP_KEY") {
		t.Fatalf("the error names the variable: %s", d)
	}
	_, ok, known = resolveSecretMap(ctx, types.MapNull(types.StringType), types.MapNull(types.StringType), getenv, "credentials", &diags)
	if ok || !known {
		t.Fatal("neither given: not ok, known")
	}
}

func TestClientErrorsNeverCarryTheToken(t *testing.T) {
	const token = "cpt_0123_SECRETSECRETSECRET"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("authorization header: %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"forbidden","message":"needs admin"}}`))
	}))
	c, err := client.New(srv.URL, token, "test")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Do(context.Background(), http.MethodPost, "/projects", map[string]string{"name": "x"}, nil)
	if !client.IsStatus(err, 403) || !client.IsCode(err, "forbidden") || strings.Contains(err.Error(), token) {
		t.Fatalf("%v", err)
	}
	srv.Close()
	err = c.Do(context.Background(), http.MethodGet, "/projects", nil, nil)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("%v", err)
	}
	if _, err := client.New(srv.URL, "", "test"); err == nil {
		t.Fatal("an empty token is refused")
	}
}
