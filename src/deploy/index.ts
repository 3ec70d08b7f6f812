// deploy: what runs Sovereign outside one machine: the nginx data plane configuration, the
// kustomize tree for Kubernetes + Istio + KServe (one cluster per region and a global
// ingress), and its validation.
export { cellUpstream, renderNginxConfig, type NginxOptions } from './nginx.ts';
export { renderTree, clusterTopology, yamlDocs, type RenderOptions, type Tree } from './tree.ts';
export { objectsOf, validateObjects, type RenderedObject, type SchemaFailure } from './validate.ts';
export { EXPOSURE, PORTS, WORKLOADS, cellSpiffeId, gatewaySpiffeId, istioPrincipal, regionNamespace, trustDomainOf, type Listener } from './exposure.ts';
export { crossNamespaceCallsNotByIdentity, lawRoutingViolations, ledgerWritersOtherThanGateway, namespacesWithoutDefaultDeny, podsThatMayRunAsRoot, podsWithoutLimits, registryFlowViolations, securityViolations } from './security.ts';
