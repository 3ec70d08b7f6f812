# One sovereign region's Kubernetes cluster, through Cluster API (the generic provider
# interface: the same objects on AWS, Azure, GCP, vSphere, OpenStack, bare metal; the
# operator's ClusterClass names the infrastructure provider).

variable "region_id" {
  description = "Sovereign region id, as in the topology file (e.g. \"eu-frankfurt\")."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.region_id))
    error_message = "region_id: expected a lower-case id of letters, digits and dashes, as in the topology file."
  }
}

variable "jurisdiction" {
  description = "Jurisdiction of the region, as in the topology file (e.g. \"EU\")."
  type        = string
}

variable "location" {
  description = "The infrastructure provider's location the cluster runs in (e.g. \"europe-west3\", \"eu-central-1\"). Pinned: it must be one of allowed_locations."
  type        = string
}

variable "allowed_locations" {
  description = "Locations inside the region's jurisdiction. The plan fails if location or any node pool's failure domain is outside them."
  type        = list(string)
  validation {
    condition     = length(var.allowed_locations) > 0
    error_message = "allowed_locations: name at least one location inside the jurisdiction."
  }
}

variable "failure_domains" {
  description = "Zones of location to spread node pools over (each must start with location, e.g. \"europe-west3-a\")."
  type        = list(string)
  default     = []
}

variable "cluster_class" {
  description = "Name of the Cluster API ClusterClass that provisions clusters on your infrastructure (it must accept the variables region and location)."
  type        = string
}

variable "cluster_class_namespace" {
  description = "Namespace of the management cluster holding the ClusterClass and the Cluster objects."
  type        = string
  default     = "sovereign-clusters"
}

variable "kubernetes_version" {
  description = "Kubernetes version of the region's cluster (e.g. \"v1.32.4\")."
  type        = string
  default     = "v1.32.4"
}

variable "control_plane_replicas" {
  description = "Control plane machines (an odd number: 1, 3 or 5)."
  type        = number
  default     = 3
  validation {
    condition     = contains([1, 3, 5], var.control_plane_replicas)
    error_message = "control_plane_replicas: expected 1, 3 or 5."
  }
}

variable "node_pools" {
  description = "Worker pools: name => { class (the ClusterClass worker class), min, max (cluster autoscaler bounds), labels }. The cells and model servers run on the pool labelled sovereign.io/pool=cells."
  type = map(object({
    class  = string
    min    = number
    max    = number
    labels = optional(map(string), {})
  }))
  default = {
    cells = { class = "default-worker", min = 2, max = 6, labels = { "sovereign.io/pool" = "cells" } }
  }
  validation {
    condition     = alltrue([for p in values(var.node_pools) : p.min >= 0 && p.max >= p.min])
    error_message = "node_pools: every pool needs 0 <= min <= max."
  }
}

variable "pod_cidr" {
  description = "Pod network of the cluster (the gateway's trusted proxies and NetworkPolicies assume it)."
  type        = string
  default     = "10.0.0.0/8"
}
