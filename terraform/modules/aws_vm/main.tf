provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

locals {
  # Unique per resource: the readable name plus the random tail of the platform id.
  unique_name = "${var.name}-${substr(var.resource_id, 18, 8)}"

  tags = merge(var.tags, {
    Name                     = var.name
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

# Current Ubuntu LTS (24.04) published by Canonical.
data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"]

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]
  }

  filter {
    name   = "architecture"
    values = ["x86_64"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

# The instance is placed in the region's default VPC.
data "aws_vpc" "default" {
  default = true
}

resource "aws_key_pair" "this" {
  key_name   = local.unique_name
  public_key = var.ssh_public_key
}

resource "aws_security_group" "this" {
  name        = local.unique_name
  description = "cloudplane ${var.name}: SSH from allow-list only"
  vpc_id      = data.aws_vpc.default.id
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each = toset(var.allowed_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "SSH"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.this.id
  description       = "All outbound"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_instance" "this" {
  ami                    = data.aws_ami.ubuntu.id
  instance_type          = var.size
  key_name               = aws_key_pair.this.key_name
  vpc_security_group_ids = [aws_security_group.this.id]

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = 20
    encrypted             = true
    delete_on_termination = true
  }

  volume_tags = local.tags

  lifecycle {
    # A newer AMI release must not replace a running instance.
    ignore_changes = [ami]
  }
}

# Stop and start in place (working-hours schedules). A stopped instance keeps
# its root volume, which still bills; its auto-assigned public IP is released.
resource "aws_ec2_instance_state" "this" {
  instance_id = aws_instance.this.id
  state       = var.power_state
}
