// Two-tier routing in the mesh. Tier one, the law: Istio's ingress gateway asks Sovereign's
// decision endpoint (ext_authz, AuthorizationPolicy action CUSTOM) before any inference
// request goes anywhere; the answer names one permitted region, recorded in its ledger, in
// x-sovereign-region. Tier two, inside that region: the VirtualService routes on the header
// to the region's cells, and the DestinationRule's connection pool and outlier detection (the
// same settings as Sovereign's own health monitor) choose among the region's replicas and
// localities. A retry never leaves the region's host, so failover stays inside the permitted
// list; failing over to another permitted region is a new decision (the client retries, the
// 503 says so).
import { DestinationRule, Gateway, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import type { Topology } from '../../config/index.ts';
import { ALLOW_HEADERS, AUTH_REQUEST_DENIAL, AUTH_REQUEST_PREFIX, EXT_AUTHZ_PREFIX, FORWARD_POOL, MODEL_HEADER } from '../../gateway/index.ts';
import { OUTLIER_DEFAULTS } from '../../health/index.ts';
import { GATEWAY_NAMESPACE, PORTS, WORKLOADS, regionNamespace } from '../exposure.ts';

export const EXT_AUTHZ_PROVIDER = 'sovereign-law';
/** The inference routes (the gateway's ingress routes), as an RE2 regex for Istio. */
export const INFERENCE_PATH_REGEX = '^/(v1/(chat/completions|completions|embeddings)|v2/models/[^/]+(/infer)?)$';
const INFERENCE_PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v2/models/*'];

export const cellHost = (region: string): string => `cell.${regionNamespace(region)}.svc.cluster.local`;
export const gatewayHost = `gateway.${GATEWAY_NAMESPACE}.svc.cluster.local`;

export interface IngressSettings {
  /** Public host names of the inference API. */
  hosts: string[];
  /** TLS secret of the ingress gateway (in its namespace). */
  credentialName: string;
}

/** meshConfig for `istioctl install -f`: the decision endpoint as an ext_authz provider. */
export function istioOperator(topology: Topology, trustDomain: string): IstioOperator {
  return new IstioOperator({
    metadata: { name: 'sovereign', namespace: 'istio-system' },
    spec: {
      meshConfig: {
        trustDomain,
        extensionProviders: [
          {
            name: EXT_AUTHZ_PROVIDER,
            envoyExtAuthzHttp: {
              service: gatewayHost,
              port: PORTS.gateway,
              pathPrefix: EXT_AUTHZ_PREFIX,
              timeout: '5s',
              failOpen: false,
              statusOnError: '503',
              // The body is classified; a body over the gateway's limit is refused (413), never
              // sent cut (a cut body would be classified special).
              includeRequestBodyInCheck: { maxRequestBytes: topology.data.gateway.bodyLimitBytes, allowPartialMessage: false },
              includeRequestHeadersInCheck: ['authorization', 'x-api-key', 'content-type', 'x-forwarded-for', 'x-sovereign-jurisdiction', 'x-data-classification', MODEL_HEADER],
              headersToUpstreamOnAllow: Object.values(ALLOW_HEADERS),
              headersToDownstreamOnAllow: [ALLOW_HEADERS.decision, ALLOW_HEADERS.ledger],
              headersToDownstreamOnDeny: ['content-type', ALLOW_HEADERS.decision, ALLOW_HEADERS.ledger, 'link', 'retry-after', 'www-authenticate'],
              // Routing on x-sovereign-region needs the route recomputed after the check. Istio
              // releases that do not emit this field need the EnvoyFilter rendered with it.
              clearRouteCache: true,
            },
          },
        ],
      },
    },
  } as never);
}

/** The ingress gateway's policies: every inference request is put to the law first; the decision endpoints are not public. */
export function ingressPolicies(): object[] {
  const ns = WORKLOADS.ingress.namespace;
  const selector = { matchLabels: { istio: 'ingressgateway' } };
  return [
    new AuthorizationPolicy({
      metadata: { name: 'sovereign-law', namespace: ns },
      spec: { selector, action: 'CUSTOM', provider: { name: EXT_AUTHZ_PROVIDER }, rules: [{ to: [{ operation: { paths: INFERENCE_PATHS } }] }] },
    }),
    new AuthorizationPolicy({
      metadata: { name: 'sovereign-internal-paths', namespace: ns },
      spec: { selector, action: 'DENY', rules: [{ to: [{ operation: { paths: [`${EXT_AUTHZ_PREFIX}/*`, `${AUTH_REQUEST_PREFIX}/*`, `${AUTH_REQUEST_DENIAL}/*`, '/sovereign/admin/*'] } }] }] },
    }),
    // clear_route_cache on the ingress gateway's ext_authz filter, so the VirtualService matches
    // the header the decision set and never one the client sent (istio/istio#61558).
    new EnvoyFilter({
      metadata: { name: 'sovereign-law-clear-route-cache', namespace: ns },
      spec: {
        workloadSelector: { labels: { istio: 'ingressgateway' } },
        configPatches: [
          {
            applyTo: 'HTTP_FILTER',
            match: { context: 'GATEWAY', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: 'envoy.filters.http.ext_authz' } } } } },
            patch: { operation: 'MERGE', value: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', clear_route_cache: true } } },
          },
        ],
      },
    } as never),
  ];
}

export function ingressRouting(topology: Topology, s: IngressSettings): object[] {
  const timeout = `${Math.ceil(topology.data.gateway.requestTimeoutMs / 1000)}s`;
  return [
    new Gateway({
      metadata: { name: 'sovereign', namespace: GATEWAY_NAMESPACE },
      spec: {
        selector: { istio: 'ingressgateway' },
        servers: [{ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: s.hosts, tls: { mode: 'SIMPLE', credentialName: s.credentialName } }],
      },
    }),
    new VirtualService({
      metadata: { name: 'sovereign', namespace: GATEWAY_NAMESPACE },
      spec: {
        hosts: s.hosts,
        gateways: [`${GATEWAY_NAMESPACE}/sovereign`],
        http: [
          ...topology.regions.map((r) => ({
            name: `law-${r.id}`,
            match: [{ uri: { regex: INFERENCE_PATH_REGEX }, headers: { [ALLOW_HEADERS.region]: { exact: r.id } } }],
            route: [{ destination: { host: cellHost(r.id), port: { number: PORTS.cell } } }],
            timeout,
            // Retries stay on this region's host: inside the permitted list by construction.
            retries: { attempts: 2, perTryTimeout: timeout, retryOn: 'connect-failure,refused-stream,reset' },
          })),
          // Anything else (admin, explain, ledger reads; and an inference request without a
          // decision header, which the gateway decides and records itself).
          { name: 'gateway', route: [{ destination: { host: gatewayHost, port: { number: PORTS.gateway } } }], timeout },
        ],
      },
    }),
  ];
}

/**
 * Connection pools and outlier detection for the cells and the gateway, in the root namespace
 * so that every client (ingress, gateway, cells) uses them. The numbers are Sovereign's own:
 * consecutive failures that eject, first ejection time, probe interval, in-flight cap,
 * connections and connect timeout of the gateway's pools.
 */
export function destinationRules(topology: Topology): object[] {
  const trafficPolicy = {
    tls: { mode: 'ISTIO_MUTUAL' as const },
    connectionPool: {
      tcp: { maxConnections: FORWARD_POOL.connections, connectTimeout: `${FORWARD_POOL.connectTimeoutMs}ms` },
      http: { http2MaxRequests: OUTLIER_DEFAULTS.maxInflight, http1MaxPendingRequests: OUTLIER_DEFAULTS.maxInflight, idleTimeout: `${FORWARD_POOL.keepAliveMs / 1000}s` },
    },
    outlierDetection: {
      consecutive5xxErrors: OUTLIER_DEFAULTS.ejectAfter,
      consecutiveGatewayErrors: OUTLIER_DEFAULTS.ejectAfter,
      interval: `${topology.data.gateway.probeIntervalMs}ms`,
      baseEjectionTime: `${OUTLIER_DEFAULTS.baseEjectionMs}ms`,
      maxEjectionPercent: 100,
    },
    loadBalancer: { simple: 'LEAST_REQUEST' as const, localityLbSetting: { enabled: true } },
  };
  return [
    ...topology.regions.map((r) => new DestinationRule({ metadata: { name: `cell-${r.id}`, namespace: 'istio-system' }, spec: { host: cellHost(r.id), trafficPolicy } })),
    new DestinationRule({ metadata: { name: 'sovereign-gateway', namespace: 'istio-system' }, spec: { host: gatewayHost, trafficPolicy } }),
  ];
}
