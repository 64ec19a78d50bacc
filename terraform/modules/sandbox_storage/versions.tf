# Sandbox modules use only the builtin terraform_data resource: no provider, no network.
terraform {
  required_version = ">= 1.10"
}
