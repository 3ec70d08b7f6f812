# The pin, again: a region's manifests go only to that region's cluster.
resource "terraform_data" "overlay_pin" {
  input = var.overlay_path
  lifecycle {
    precondition {
      condition     = var.expected_region == null || endswith(trimsuffix(var.overlay_path, "/"), "overlays/region-${coalesce(var.expected_region, "-")}")
      error_message = "overlay ${var.overlay_path} is not the overlay of region ${coalesce(var.expected_region, "-")}; a region's manifests go only to its own cluster."
    }
  }
}

data "kustomization_build" "this" {
  path = var.overlay_path
}

# In three passes, as the provider documents: namespaces and CRD-like kinds first, then
# everything else, then webhooks-dependent kinds.
resource "kustomization_resource" "p0" {
  depends_on = [terraform_data.overlay_pin]
  for_each   = data.kustomization_build.this.ids_prio[0]
  manifest   = data.kustomization_build.this.manifests[each.value]
}

resource "kustomization_resource" "p1" {
  depends_on = [kustomization_resource.p0]
  for_each   = data.kustomization_build.this.ids_prio[1]
  manifest   = data.kustomization_build.this.manifests[each.value]
  wait       = true
  timeouts {
    create = "10m"
    update = "10m"
  }
}

resource "kustomization_resource" "p2" {
  depends_on = [kustomization_resource.p1]
  for_each   = data.kustomization_build.this.ids_prio[2]
  manifest   = data.kustomization_build.this.manifests[each.value]
}
