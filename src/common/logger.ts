// Structured JSON logs (pino). Secrets never reach a log line: auth headers are redacted.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    name,
    level: process.env.SOVEREIGN_LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...bindings },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
