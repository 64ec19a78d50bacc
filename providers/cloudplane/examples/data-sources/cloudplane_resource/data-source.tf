data "cloudplane_resource" "bucket" {
  id = var.bucket_resource_id
}

output "bucket_url" {
  value = data.cloudplane_resource.bucket.outputs["url"]
}
