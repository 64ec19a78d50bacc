output "id" {
  description = "Azure resource id of the VM."
  value       = azurerm_linux_virtual_machine.this.id
}

output "public_ip" {
  description = "Static public IPv4 address."
  value       = azurerm_public_ip.this.ip_address
}

output "private_ip" {
  description = "Private IPv4 address in the VM's subnet."
  value       = azurerm_linux_virtual_machine.this.private_ip_address
}
