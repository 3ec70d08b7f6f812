// deploy: what runs Sovereign outside one machine: the nginx data plane configuration, the
// kustomize tree for Kubernetes + Istio + KServe (one cluster per region and a global
// ingress), and its validation.
export { cellUpstream, renderNginxConfig, type NginxOptions } from './nginx.ts';
