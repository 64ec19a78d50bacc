output "id" {
  description = "Sandbox bucket id (sbx-b-...)."
  value       = "sbx-${sandbox_bucket.this.id}"
}

output "name" {
  description = "Bucket name."
  value       = sandbox_bucket.this.name
}

output "url" {
  description = "Bucket URL (sandbox://name)."
  value       = sandbox_bucket.this.url
}
