package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// oneOfValidator accepts one of a fixed set of strings (or null/unknown).
type oneOfValidator struct{ allowed []string }

func oneOf(allowed ...string) validator.String { return oneOfValidator{allowed} }

func (v oneOfValidator) Description(context.Context) string {
	return "one of " + strings.Join(v.allowed, ", ")
}

func (v oneOfValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v oneOfValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, a := range v.allowed {
		if req.ConfigValue.ValueString() == a {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid value",
		fmt.Sprintf("%q is not %s", req.ConfigValue.ValueString(), v.Description(context.Background())))
}
