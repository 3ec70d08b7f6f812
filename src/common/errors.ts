// Error bodies shared by the cell and the gateway. OpenAI-compatible shape
// ({"error": {"type", "message", ...}}) so the official clients surface the message.

export interface ErrorBody {
  error: { type: string; message: string; code?: string; [k: string]: unknown };
}

/** An error that maps to an HTTP status and a JSON body; thrown inside route handlers. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly type: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, type: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.type = type;
    this.extra = extra;
    this.headers = headers;
  }

  body(): ErrorBody {
    return { error: { type: this.type, message: this.message, ...this.extra } };
  }
}

export const badRequest = (message: string, extra?: Record<string, unknown>): HttpError =>
  new HttpError(400, 'invalid_request_error', message, extra);

export const notFound = (message: string): HttpError => new HttpError(404, 'not_found_error', message);
