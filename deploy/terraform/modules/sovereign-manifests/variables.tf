# Installs one overlay of the tree `sovereign deploy render --out <dir>` wrote, into the
# cluster the kustomization provider is configured for (the region's, or the global one).

variable "overlay_path" {
  description = "Path of the rendered overlay: <dir>/overlays/region-<id> for a region's cluster, <dir>/overlays/global-ingress for the global one."
  type        = string
  validation {
    condition     = can(regex("overlays/(region-[a-z0-9-]+|global-ingress)/?$", var.overlay_path))
    error_message = "overlay_path: expected <dir>/overlays/region-<id> or <dir>/overlays/global-ingress, as sovereign deploy render writes them."
  }
}

variable "expected_region" {
  description = "For a region overlay: the region id this cluster was provisioned for (region-cluster's region_id). The plan fails if the overlay is another region's."
  type        = string
  default     = null
}
