// Every error the server answers is JSON `{ statusCode, code, error, message }` with a 4xx
// status (5xx only for a bug or a model that cannot be served yet), so clients branch on
// `code` and never parse text.
import type { FastifyError, FastifyInstance } from 'fastify';
import { isCfError } from '../errors.js';

export const HttpCode = {
  VALIDATION: 'ERR_VALIDATION',
  UNKNOWN_USER: 'ERR_UNKNOWN_USER',
  UNKNOWN_ITEM: 'ERR_UNKNOWN_ITEM',
  UNKNOWN_MODEL: 'ERR_UNKNOWN_MODEL',
  NO_KNOWN_ITEMS: 'ERR_NO_KNOWN_ITEMS',
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  UNAUTHORIZED: 'ERR_UNAUTHORIZED',
  ADMIN_DISABLED: 'ERR_ADMIN_DISABLED',
  FEEDBACK_DISABLED: 'ERR_FEEDBACK_DISABLED',
  NOT_READY: 'ERR_NOT_READY',
  NOT_FOUND: 'ERR_NOT_FOUND',
  INTERNAL: 'ERR_INTERNAL',
} as const;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, code: string, message: string) {
  return { statusCode, code, error: REASONS[statusCode] ?? 'Error', message };
}

/** The JSON schema of every error body (the OpenAPI document lists it on each route). */
export const ERROR_SCHEMA = {
  $id: 'cfError',
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['statusCode', 'code', 'error', 'message'],
} as const;

/** Errors of the core that a request can cause (an option out of range, an unsupported list). */
const CORE_STATUS: Record<string, number> = {
  ERR_CF_INVALID_ARG: 400,
  ERR_CF_UNSUPPORTED: 422,
  ERR_CF_NUMERIC: 422,
};

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    let status: number;
    let code: string;
    let message = err.message;
    if (err instanceof HttpError) {
      status = err.statusCode;
      code = err.code;
    } else if ((err as FastifyError).validation) {
      status = 400;
      code = HttpCode.VALIDATION;
    } else if (isCfError(err) && CORE_STATUS[err.code] !== undefined) {
      status = CORE_STATUS[err.code]!;
      code = err.code;
    } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! >= 400 && (err as FastifyError).statusCode! < 500) {
      // Fastify's own: malformed JSON, a body over the limit, a wrong content type.
      status = (err as FastifyError).statusCode!;
      code = (err as FastifyError).code ?? 'ERR_BAD_REQUEST';
    } else {
      status = 500;
      code = HttpCode.INTERNAL;
      req.log.error({ err }, 'request failed');
      message = 'internal error (logged by the server)';
    }
    void reply.code(status).send(errorBody(status, code, message));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody(404, HttpCode.NOT_FOUND, `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
