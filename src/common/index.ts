export { HttpError, badRequest, notFound, type ErrorBody } from './errors.ts';
export { createLogger, type Logger } from './logger.ts';
export * from './openai.ts';
export * from './v2.ts';
export { firstIssue } from './zod-message.ts';
export { createHttpServer } from './http-server.ts';
export { sseReadable, SSE_HEADERS } from './sse.ts';
export { bearer, loadToken, tokenMatches } from './tokens.ts';
export { SERVED_FOR_HEADERS, servedForHeaders, servedForOf, type ServedFor } from './served-for.ts';
