package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// docAttr is what the reference says about one attribute.
type docAttr struct {
	name, typ, desc                                    string
	required, optional, computed, sensitive, writeOnly bool
	nested                                             []docAttr
}

// DocsExample is the provider page's example.
const DocsExample = `terraform {
  required_providers {
    cloudplane = { source = "cloudplane/cloudplane", version = "~> 0.1" }
  }
}

provider "cloudplane" {} # CLOUDPLANE_URL, CLOUDPLANE_TOKEN

resource "cloudplane_project" "team" {
  name               = "team-a"
  require_approval   = true
  monthly_budget_usd = 500
}

resource "cloudplane_cloud_account" "sandbox" {
  project_id      = cloudplane_project.team.id
  name            = "sandbox"
  cloud           = "sandbox"
  credentials_env = { api_key = "SANDBOX_API_KEY" } # read at plan/apply; only a hash is stored
}

resource "cloudplane_project_token" "ci" {
  project_id = cloudplane_project.team.id
  name       = "ci"
  scopes     = ["read", "order"]
}
`

func cleanType(s string) string {
	s = strings.ReplaceAll(s, "tftypes.", "")
	if strings.HasPrefix(s, "List[Object[") {
		return "List of objects"
	}
	return s
}

func resourceAttrs(ctx context.Context, attrs map[string]rschema.Attribute) []docAttr {
	var out []docAttr
	for name, a := range attrs {
		d := docAttr{name: name, typ: cleanType(a.GetType().TerraformType(ctx).String()), desc: a.GetDescription(),
			required: a.IsRequired(), optional: a.IsOptional(), computed: a.IsComputed(), sensitive: a.IsSensitive(),
			writeOnly: a.IsWriteOnly()}
		out = append(out, d)
	}
	return out
}

func dataSourceAttrs(ctx context.Context, attrs map[string]dsschema.Attribute) []docAttr {
	var out []docAttr
	for name, a := range attrs {
		d := docAttr{name: name, typ: cleanType(a.GetType().TerraformType(ctx).String()), desc: a.GetDescription(),
			required: a.IsRequired(), optional: a.IsOptional(), computed: a.IsComputed(), sensitive: a.IsSensitive()}
		if n, ok := a.(dsschema.ListNestedAttribute); ok {
			d.nested = dataSourceAttrs(ctx, n.NestedObject.Attributes)
		}
		out = append(out, d)
	}
	return out
}

func renderAttrs(b *strings.Builder, attrs []docAttr) {
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].name < attrs[j].name })
	section := func(title string, keep func(docAttr) bool) {
		var rows []docAttr
		for _, a := range attrs {
			if keep(a) {
				rows = append(rows, a)
			}
		}
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(b, "\n### %s\n\n| Name | Type | Notes | Description |\n|---|---|---|---|\n", title)
		for _, a := range rows {
			var notes []string
			if a.sensitive {
				notes = append(notes, "sensitive")
			}
			if a.writeOnly {
				notes = append(notes, "write-only (never stored)")
			}
			if a.optional && a.computed {
				notes = append(notes, "server default when unset")
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", a.name, a.typ, strings.Join(notes, ", "),
				strings.ReplaceAll(a.desc, "|", "\\|"))
		}
		for _, a := range rows {
			if len(a.nested) > 0 {
				fmt.Fprintf(b, "\n#### `%s` elements\n", a.name)
				renderAttrs(b, a.nested)
			}
		}
	}
	section("Required", func(a docAttr) bool { return a.required })
	section("Optional", func(a docAttr) bool { return a.optional })
	section("Read-only", func(a docAttr) bool { return a.computed && !a.optional && !a.required })
}

// Docs renders the reference: file path (under docs/) -> Markdown. It is
// generated from the schemas (go run ./tools/gendocs); a test checks that
// the committed docs match.
func Docs() map[string]string {
	ctx := context.Background()
	p := New("docs")()
	files := map[string]string{}

	var pr fwprovider.SchemaResponse
	p.Schema(ctx, fwprovider.SchemaRequest{}, &pr)
	var b strings.Builder
	fmt.Fprintf(&b, "# cloudplane provider\n\n%s\n\n## Example\n\n```hcl\n%s```\n\n## Configuration\n\n| Name | Notes | Description |\n|---|---|---|\n",
		pr.Schema.Description, DocsExample)
	names := make([]string, 0, len(pr.Schema.Attributes))
	for n := range pr.Schema.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := pr.Schema.Attributes[n]
		notes := "optional"
		if a.IsSensitive() {
			notes += ", sensitive"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, notes, a.GetDescription())
	}
	b.WriteString("\n## Resources\n\n")
	var index []string
	for _, f := range p.Resources(ctx) {
		r := f()
		var mr resource.MetadataResponse
		r.Metadata(ctx, resource.MetadataRequest{ProviderTypeName: "cloudplane"}, &mr)
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		var rb strings.Builder
		fmt.Fprintf(&rb, "# %s (resource)\n\n%s\n", mr.TypeName, sr.Schema.Description)
		renderAttrs(&rb, resourceAttrs(ctx, sr.Schema.Attributes))
		files["resources/"+strings.TrimPrefix(mr.TypeName, "cloudplane_")+".md"] = rb.String()
		index = append(index, fmt.Sprintf("- [%s](resources/%s.md)\n", mr.TypeName, strings.TrimPrefix(mr.TypeName, "cloudplane_")))
	}
	sort.Strings(index)
	b.WriteString(strings.Join(index, ""))
	b.WriteString("\n## Data sources\n\n")
	index = nil
	for _, f := range p.DataSources(ctx) {
		d := f()
		var mr datasource.MetadataResponse
		d.Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: "cloudplane"}, &mr)
		var sr datasource.SchemaResponse
		d.Schema(ctx, datasource.SchemaRequest{}, &sr)
		var db strings.Builder
		fmt.Fprintf(&db, "# %s (data source)\n\n%s\n", mr.TypeName, sr.Schema.Description)
		renderAttrs(&db, dataSourceAttrs(ctx, sr.Schema.Attributes))
		files["data-sources/"+strings.TrimPrefix(mr.TypeName, "cloudplane_")+".md"] = db.String()
		index = append(index, fmt.Sprintf("- [%s](data-sources/%s.md)\n", mr.TypeName, strings.TrimPrefix(mr.TypeName, "cloudplane_")))
	}
	sort.Strings(index)
	b.WriteString(strings.Join(index, ""))
	b.WriteString("\n<!-- Generated from the provider's schemas by `go run ./tools/gendocs`; do not edit. -->\n")
	files["index.md"] = b.String()
	return files
}
