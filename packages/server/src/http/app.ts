import { isUtf8 } from 'node:buffer';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { MAX_SMALL_BODY_BYTES, type ErrorBody } from '@confab/protocol';
import { AppError, toErrorBody } from '../errors.js';
import { typeboxValidatorCompiler } from './validator.js';

export interface HttpOptions {
  logLevel: string;
  trustProxy: boolean;
}

/**
 * Fastify with Confab's error contract: every failure is an ErrorBody with a
 * stable code. Schema failures are `bad_request`; oversized bodies are refused
 * by the parser before any JSON is read.
 */
export function createHttpApp(opts: HttpOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: opts.logLevel },
    trustProxy: opts.trustProxy,
    bodyLimit: MAX_SMALL_BODY_BYTES,
    // Per-request access logs are left to the proxy in front; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  app.setValidatorCompiler(typeboxValidatorCompiler);

  // JSON bodies must be UTF-8 (RFC 8259). Decoding would silently turn broken
  // bytes into U+FFFD and store text the client never sent; refuse instead.
  // `__proto__` and `constructor.prototype` keys stay refused, as by default.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(Object.assign(new Error('The body is not valid UTF-8.'), { statusCode: 400 }), undefined);
      return;
    }
    parseJson(request, bytes.toString('utf8'), done);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let body: ErrorBody;
    let status: number;
    if (error instanceof AppError) {
      body = toErrorBody(error);
      status = error.status;
      // RFC 9110 Retry-After is in whole seconds; the body has the milliseconds.
      if (error.retryAfterMs !== undefined) void reply.header('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
    } else if (error.validation || error.code === 'FST_ERR_VALIDATION') {
      body = { code: 'bad_request', message: error.message, retryable: false };
      status = 400;
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      body = { code: 'frame_too_large', message: 'Request body too large.', retryable: false };
      status = 413;
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Parser errors: malformed JSON, wrong content type, empty body.
      body = { code: 'bad_request', message: error.message, retryable: false };
      status = 400;
    } else {
      request.log.error({ err: error }, 'request failed');
      body = toErrorBody(error);
      status = 500;
    }
    void reply.status(status).send(body);
  });

  app.setNotFoundHandler((_request, reply) => {
    void reply.status(404).send({ code: 'not_found', message: 'No such route.', retryable: false } satisfies ErrorBody);
  });

  return app;
}
