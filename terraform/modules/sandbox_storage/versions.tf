# The sandbox cloud's own provider (providers/sandbox), installed from the
# platform's provider mirror; its hash is pinned by .terraform.lock.hcl.
terraform {
  required_version = ">= 1.10"

  required_providers {
    sandbox = {
      source  = "cloudplane/sandbox"
      version = "0.2.0"
    }
  }
}

# endpoint and api_key come from SANDBOX_ENDPOINT and SANDBOX_API_KEY, which
# the worker sets for every sandbox run.
provider "sandbox" {}
