# Credentials come from the environment (GOOGLE_CREDENTIALS).
provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  # The first zone that exists in each allowed region (us-east1 and europe-west1 have no -a zone).
  default_zone = {
    "us-central1"  = "us-central1-a"
    "us-east1"     = "us-east1-b"
    "us-west1"     = "us-west1-a"
    "europe-west1" = "europe-west1-b"
    "europe-west4" = "europe-west4-a"
  }
  zone = coalesce(var.zone, local.default_zone[var.region])

  # Network names are unique per resource: readable name plus the random tail of the platform id.
  base = "${trimsuffix(substr(var.name, 0, 40), "-")}-${substr(var.resource_id, 18, 8)}"

  labels = merge(var.tags, {
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

# Current Ubuntu LTS image family from Canonical.
data "google_compute_image" "ubuntu" {
  family  = "ubuntu-2404-lts-amd64"
  project = "ubuntu-os-cloud"
}

resource "google_compute_network" "this" {
  name                    = "${local.base}-net"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "this" {
  name          = "${local.base}-subnet"
  region        = var.region
  network       = google_compute_network.this.id
  ip_cidr_range = "10.10.0.0/24"
}

# Only created when an allow-list is given: a GCP firewall rule without
# source ranges would match every source.
resource "google_compute_firewall" "ssh" {
  count = length(var.allowed_cidrs) > 0 ? 1 : 0

  name          = "${local.base}-ssh"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = var.allowed_cidrs
  target_tags   = [local.base]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

resource "google_compute_instance" "this" {
  name                      = var.name
  zone                      = local.zone
  machine_type              = var.size
  allow_stopping_for_update = true
  tags                      = [local.base]
  labels                    = local.labels

  # Working-hours schedules stop (TERMINATED keeps the boot disk) and start it.
  desired_status = var.power_state == "stopped" ? "TERMINATED" : "RUNNING"

  boot_disk {
    initialize_params {
      image = data.google_compute_image.ubuntu.self_link
      size  = 20
      type  = "pd-balanced"
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.this.id

    # Ephemeral public IPv4.
    access_config {}
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    "block-project-ssh-keys" = "true"
    "enable-oslogin"         = "FALSE"
    "ssh-keys"               = "${var.admin_username}:${trimspace(var.ssh_public_key)}"
  }

  # No service account is attached: the VM gets no Google API credentials.

  lifecycle {
    # A newer image in the family must not replace a running instance.
    ignore_changes = [boot_disk[0].initialize_params[0].image]

    precondition {
      condition     = startswith(local.zone, "${var.region}-")
      error_message = "zone must be inside region."
    }
  }
}
