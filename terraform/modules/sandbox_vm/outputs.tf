output "id" {
  description = "Simulated instance id (sbx-i-...)."
  value       = terraform_data.instance.output.id
}

output "public_ip" {
  description = "Simulated public IPv4 address in 203.0.113.0/24 (documentation range)."
  value       = terraform_data.instance.output.public_ip
}

output "private_ip" {
  description = "Simulated private IPv4 address in 10.0.0.0/8."
  value       = terraform_data.instance.output.private_ip
}
