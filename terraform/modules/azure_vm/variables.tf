variable "resource_id" {
  description = "Platform resource id (26 lower-case letters or digits). Used for tags and unique names."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-z]{26}$", var.resource_id))
    error_message = "resource_id must be 26 lower-case letters or digits."
  }
}

variable "name" {
  description = "VM name (also its host name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,62}[a-z0-9])?$", var.name))
    error_message = "name must be 1-64 characters: lower-case letters, digits and hyphens; starts with a letter; ends with a letter or digit."
  }
}

variable "region" {
  description = "Azure region."
  type        = string

  validation {
    condition     = contains(["eastus", "eastus2", "westus", "westus2", "westeurope", "northeurope"], var.region)
    error_message = "region must be one of: eastus, eastus2, westus, westus2, westeurope, northeurope."
  }
}

variable "size" {
  description = "VM size."
  type        = string

  validation {
    condition     = contains(["Standard_B1s", "Standard_B1ms", "Standard_B2s"], var.size)
    error_message = "size must be one of: Standard_B1s, Standard_B1ms, Standard_B2s."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key (ssh-ed25519 or ssh-rsa) installed for the login user. Azure does not accept ECDSA keys."
  type        = string

  validation {
    condition     = length(var.ssh_public_key) <= 8192 && can(regex("^(ssh-ed25519 AAAAC3NzaC1lZDI1NTE5|ssh-rsa AAAAB3NzaC1yc2E)[A-Za-z0-9+/]+={0,3}( [ -~]*)?$", var.ssh_public_key))
    error_message = "ssh_public_key must be a single-line OpenSSH public key of type ssh-ed25519 or ssh-rsa."
  }
}

variable "allowed_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach SSH (port 22). Empty means no SSH ingress."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.allowed_cidrs) <= 20 && alltrue([for c in var.allowed_cidrs : can(regex("^[0-9]{1,3}([.][0-9]{1,3}){3}/[0-9]{1,2}$", c)) && can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must hold at most 20 valid IPv4 CIDR blocks, e.g. 203.0.113.0/24."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : try(cidrhost(c, 0) == split("/", c)[0], true)])
    error_message = "Each allowed_cidrs entry must be a network address (host bits zero), e.g. 203.0.113.0/24 rather than 203.0.113.7/24."
  }
}

variable "admin_username" {
  description = "Login user created on the VM."
  type        = string
  default     = "cloudplane"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.admin_username)) && !contains(["administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"], var.admin_username)
    error_message = "admin_username must be 1-32 lower-case letters, digits, underscores or hyphens, start with a letter or underscore, and not be a reserved name (administrator, admin, user, user1, test, user2, ...)."
  }
}

variable "tags" {
  description = "Extra tags. The platform's own tags (managed-by, cloudplane-resource-id) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 512 && length(v) <= 256 && !can(regex("[<>%&?/]", k))])
    error_message = "tags: at most 40 entries; keys 1-512 characters without < > % & ? /; values up to 256 characters."
  }
}

variable "power_state" {
  description = "Only running: hashicorp/azurerm cannot stop or deallocate a virtual machine (azurerm_linux_virtual_machine has no power-state argument), so the catalog marks Azure VMs not stoppable."
  type        = string
  default     = "running"

  validation {
    condition     = var.power_state == "running"
    error_message = "power_state must be running: the azurerm provider cannot stop or deallocate a virtual machine."
  }
}
