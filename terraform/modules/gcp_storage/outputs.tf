output "id" {
  description = "Bucket id."
  value       = google_storage_bucket.this.id
}

output "name" {
  description = "Bucket name."
  value       = google_storage_bucket.this.name
}

output "url" {
  description = "Bucket URL (gs://name)."
  value       = google_storage_bucket.this.url
}
