output "id" {
  description = "Sandbox instance id (sbx-i-...)."
  value       = "sbx-${sandbox_instance.this.id}"
}

output "public_ip" {
  description = "Public IPv4 address in 203.0.113.0/24 (documentation range), from the sandbox cloud."
  value       = sandbox_instance.this.public_ip
}

output "private_ip" {
  description = "Private IPv4 address in 10.0.0.0/8, from the sandbox cloud."
  value       = sandbox_instance.this.private_ip
}
