// nginx as Sovereign's data plane: every inference request is first put to the gateway's
// decision endpoint with auth_request (the law: identify, classify, decide, record), then
// proxied by nginx itself to the cell of the region the decision names. nginx never chooses a
// region: the map below knows only the topology's regions, and anything else has no live
// upstream (502).
//
// What nginx can and cannot give the decision (ngx_http_auth_request_module): the subrequest
// carries the original method and headers but never the body, and only 2xx / 401 / 403
// answers are understood. So (1) the content is not classified: the gateway takes it as
// `special`, the strictest class, and clients name the model of an OpenAI-style request in
// the x-sovereign-model header (V2 requests name it in the path); (2) a denial comes back as
// 403 + x-sovereign-denial, and error_page fetches the real answer (451 / 503 with Sovereign's
// JSON error) from the gateway. To classify content at this layer use Envoy ext_authz with
// with_request_body (the rendered Istio config does), or Sovereign's own ingress.
//
// Failover: nginx sends the request to the one region decided; a region that fails then is
// not retried elsewhere by nginx (the decision, hence the ledger entry, names one region).
//
// Mutual TLS to the cells: with `upstreamTls`, nginx presents a client certificate
// (proxy_ssl_certificate) and verifies the cell's chain against the trust bundle. nginx checks
// DNS names only, not SPIFFE URI SANs: it proves "a workload of the trust domain", not which.
import { isIP } from 'node:net';
import type { Topology } from '../config/index.ts';
import { ALLOW_HEADERS, AUTH_REQUEST_DENIAL, AUTH_REQUEST_PREFIX, ORIGINAL_METHOD_HEADER } from '../gateway/index.ts';

export interface NginxOptions {
  /** host:port nginx listens on. */
  listen: string;
  /** Origin of the gateway whose decision endpoint nginx asks (e.g. http://127.0.0.1:8080). */
  gateway: string;
  /** Directory for the pid file, logs and temporary files. */
  prefix: string;
  workers?: number;
  /** Run in the foreground (daemon off), as a supervised process or a test does. */
  foreground?: boolean;
  /** `user` directive (when nginx starts as root); omitted when undefined. */
  user?: string;
  /** Client certificate, key and trust bundle for mutual TLS to the cells (mesh). */
  upstreamTls?: { certificate: string; key: string; trustedCa: string };
}

/** The upstream block name of a region (ids are lower-case letters, digits and dashes). */
export function cellUpstream(regionId: string): string {
  return `sovereign_cell_${regionId.replace(/-/g, '_')}`;
}

/** The inference routes whose requests are authorized and routed (the gateway's own ingress routes). */
export const INFERENCE_LOCATION = '^/(v1/(chat/completions|completions|embeddings)|v2/models/[^/]+(/infer)?)$';

/** nginx variable of an upstream response header, e.g. $upstream_http_x_sovereign_region. */
const upstreamVar = (header: string): string => `$upstream_http_${header.replace(/-/g, '_')}`;

export function renderNginxConfig(topology: Topology, o: NginxOptions): string {
  const scheme = o.upstreamTls ? 'https' : 'http';
  if (o.upstreamTls) {
    // nginx checks an upstream certificate against a DNS name only (OpenSSL X509_check_host);
    // a cell addressed by IP carries an IP SAN nginx cannot check. Refuse rather than not verify.
    const byIp = topology.regions.filter((r) => isIP(new URL(r.url).hostname.replace(/^\[|\]$/g, '')) !== 0);
    if (byIp.length > 0) {
      throw new Error(`mutual TLS to the cells: nginx can verify a cell's certificate only by DNS name, and ${byIp.map((r) => `${r.id} (${r.url})`).join(', ')} use an IP address; give those cells a host name in regions[].url`);
    }
  }
  const gateway = new URL(o.gateway);
  const bodyLimit = topology.data.gateway.bodyLimitBytes;
  const upstreams = topology.regions.map((r) => `  upstream ${cellUpstream(r.id)} { server ${new URL(r.url).host}; keepalive 64; }`);
  const map = topology.regions.map((r) => `    ${r.id} ${cellUpstream(r.id)};`);
  // The name the cell's certificate is checked against: the host of the region's URL.
  const names = topology.regions.map((r) => `    ${r.id} ${new URL(r.url).hostname};`);
  const tls = o.upstreamTls
    ? [
        `      proxy_ssl_certificate ${o.upstreamTls.certificate};`,
        `      proxy_ssl_certificate_key ${o.upstreamTls.key};`,
        `      proxy_ssl_trusted_certificate ${o.upstreamTls.trustedCa};`,
        // The mesh speaks TLS 1.3 only (nginx before 1.23.4 does not offer it by default).
        '      proxy_ssl_protocols TLSv1.3;',
        '      proxy_ssl_verify on;',
        '      proxy_ssl_name $sovereign_cell_name;',
        '      proxy_ssl_session_reuse on;',
      ]
    : [];
  return `# Rendered by \`sovereign deploy nginx\` from ${topology.file}. Regenerate it when the
# topology changes; do not edit by hand.
worker_processes ${o.workers ?? 1};
${o.foreground ? 'daemon off;\n' : ''}pid ${o.prefix}/nginx.pid;
error_log ${o.prefix}/error.log warn;
${o.user ? `user ${o.user};\n` : ''}events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size ${bodyLimit};
  client_body_buffer_size 64k;
  client_body_temp_path ${o.prefix}/client_body;
  proxy_temp_path ${o.prefix}/proxy_temp;
  fastcgi_temp_path ${o.prefix}/fastcgi_temp;
  uwsgi_temp_path ${o.prefix}/uwsgi_temp;
  scgi_temp_path ${o.prefix}/scgi_temp;
  keepalive_requests 100000;

  upstream sovereign_gateway { server ${gateway.host}; keepalive 64; }
${upstreams.join('\n')}
  # No region: nothing is live here, so nginx answers 502 and forwards nothing.
  upstream sovereign_no_region { server 127.0.0.1:9 down; }

  # The region the decision named -> its cells. Only the topology's regions are here.
  map $sovereign_region $sovereign_cell {
    default sovereign_no_region;
${map.join('\n')}
  }
${o.upstreamTls ? `  map $sovereign_region $sovereign_cell_name {\n    default invalid.sovereign;\n${names.join('\n')}\n  }\n` : ''}
  server {
    listen ${o.listen};
    default_type application/json;

    location ~ ${INFERENCE_LOCATION} {
      auth_request /_sovereign/authz;
      auth_request_set $sovereign_region ${upstreamVar(ALLOW_HEADERS.region)};
      auth_request_set $sovereign_decision ${upstreamVar(ALLOW_HEADERS.decision)};
      auth_request_set $sovereign_ledger ${upstreamVar(ALLOW_HEADERS.ledger)};
      auth_request_set $sovereign_denial $upstream_http_x_sovereign_denial;
      error_page 403 = @sovereign_denied;

      proxy_pass ${scheme}://$sovereign_cell;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Set from the decision, never from the client: the cell refuses a request whose
      # decided region is not its own (421).
      proxy_set_header ${ALLOW_HEADERS.region} $sovereign_region;
      proxy_set_header ${ALLOW_HEADERS.decision} $sovereign_decision;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout ${Math.ceil(topology.data.gateway.requestTimeoutMs / 1000)}s;
${tls.join('\n')}
      add_header ${ALLOW_HEADERS.decision} $sovereign_decision always;
      add_header ${ALLOW_HEADERS.ledger} $sovereign_ledger always;
    }

    # The law: the gateway's decision endpoint (no body: nginx's auth_request sends none).
    location = /_sovereign/authz {
      internal;
      proxy_pass http://sovereign_gateway${AUTH_REQUEST_PREFIX}$request_uri;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      # A subrequest is a GET: the original method goes in a header.
      proxy_set_header ${ORIGINAL_METHOD_HEADER} $request_method;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }

    # A denial: the gateway's own answer (451 or 503 with the JSON error, or 400/401/404).
    location @sovereign_denied {
      proxy_method GET;
      proxy_pass http://sovereign_gateway${AUTH_REQUEST_DENIAL}/$sovereign_denial;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }

    location / {
      return 404 '{"error":{"type":"not_found_error","message":"no inference route here; this data plane serves /v1/chat/completions, /v1/completions, /v1/embeddings and /v2/models/{model}[/infer]"}}';
    }
  }
}
`;
}
