// Command terraform-provider-cloudplane is the cloudplane/cloudplane provider:
// projects, members, cloud accounts, guardrails, webhooks and service tokens
// of a cloudplane server as code.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/cloudplane/cloudplane/providers/cloudplane/internal/provider"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address:         "registry.opentofu.org/cloudplane/cloudplane",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
