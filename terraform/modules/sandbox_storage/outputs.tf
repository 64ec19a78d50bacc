output "id" {
  description = "Simulated bucket id (sbx-b-...)."
  value       = terraform_data.bucket.output.id
}

output "name" {
  description = "Bucket name."
  value       = terraform_data.bucket.output.name
}

output "url" {
  description = "Bucket URL (sandbox://name)."
  value       = terraform_data.bucket.output.url
}
