output "id" {
  description = "Bucket ARN."
  value       = aws_s3_bucket.this.arn
}

output "name" {
  description = "Bucket name."
  value       = aws_s3_bucket.this.bucket
}

output "url" {
  description = "Bucket URL (s3://name)."
  value       = "s3://${aws_s3_bucket.this.bucket}"
}
