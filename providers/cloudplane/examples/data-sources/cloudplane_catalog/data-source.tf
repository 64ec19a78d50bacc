data "cloudplane_catalog" "all" {}

locals {
  sandbox_regions = [for k in jsondecode(data.cloudplane_catalog.all.json).clouds : k if k.id == "sandbox"][0].kinds[0].regions[*].id
}
