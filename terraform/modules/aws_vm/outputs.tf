output "id" {
  description = "EC2 instance id."
  value       = aws_instance.this.id
}

output "public_ip" {
  description = "Public IPv4 address (changes if the instance is stopped and started)."
  value       = aws_instance.this.public_ip
}

output "private_ip" {
  description = "Private IPv4 address in the default VPC."
  value       = aws_instance.this.private_ip
}
