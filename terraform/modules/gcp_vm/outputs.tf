output "id" {
  description = "Instance id (projects/<project>/zones/<zone>/instances/<name>)."
  value       = google_compute_instance.this.id
}

output "public_ip" {
  description = "Ephemeral public IPv4 address."
  value       = google_compute_instance.this.network_interface[0].access_config[0].nat_ip
}

output "private_ip" {
  description = "Private IPv4 address in the instance's subnet."
  value       = google_compute_instance.this.network_interface[0].network_ip
}
