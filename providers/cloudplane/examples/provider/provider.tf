terraform {
  required_providers {
    cloudplane = { source = "cloudplane/cloudplane", version = "~> 0.1" }
  }
}

# url and token default to CLOUDPLANE_URL and CLOUDPLANE_TOKEN.
provider "cloudplane" {
  url = "https://cloudplane.example.com"
}
