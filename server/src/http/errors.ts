/**
 * Every error answer is JSON `{ "error": "..." }` naming the problem without echoing request
 * values (which may be private signals or declared ids): 400 for a bad body, 413 for an oversized
 * one, 503 when the profile store is down (with Retry-After, so the SDK retries), 500 otherwise.
 * An answer may name the key at fault, for the caller who sent it; the log line never does:
 * keys can carry data too, so the log gets the reason only.
 */
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { StoreUnavailableError } from '../stores/types';
import { noteProblem, pathOnly } from './logging';
import type { Metrics } from './metrics';

export interface HttpError extends Error {
  statusCode: number;
  /** What the log line says: the reason without any key or value from the request. */
  problem: string;
}

/** `problem` is needed when `message` quotes the request (a key); otherwise the log says `message`. */
export function httpError(statusCode: number, message: string, problem = message): HttpError {
  return Object.assign(new Error(message), { statusCode, problem });
}

const isHttpError = (e: unknown): e is HttpError => e instanceof Error && typeof (e as HttpError).problem == 'string';

/** Fields whose keys are the request's own (signal names, declared id names, consent fields). */
const KEYED_BY_REQUEST = new Set(['signals', 'ids', 'consent']);

/**
 * `/events/0/signals/c_x` -> `events[0].signals.c_x`, or with `hideKeys` (for logs)
 * `events[0].signals.*`: a key inside one of those fields is the request's data.
 */
function pathOf(instancePath: string, hideKeys = false): string {
  let out = '';
  let keyNext = false;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const isKey: boolean = keyNext;
    keyNext = !isKey && KEYED_BY_REQUEST.has(part);
    const shown = isKey && hideKeys ? '*' : part;
    out = !isKey && /^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${shown}` : shown;
  }
  return out;
}

/** A value for an answer's message: JSON-quoted, cut at 40 characters. */
export const quote = (s: unknown) => {
  const str = String(s);
  return JSON.stringify(str.length > 40 ? `${str.slice(0, 40)}...` : str);
};

const TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  null: 'null',
};
const typeList = (t: string | string[]) => {
  const names = (Array.isArray(t) ? t : [t]).map((x) => TYPES[x] ?? x);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
};

/** One line for the first schema problem, in the terms of docs/protocol.md: the answer's, and the log's. */
export function formatSchemaErrors(errors: FastifySchemaValidationError[]): Error {
  // A bad key is reported twice (its own rule, then `propertyNames`): say it as a key problem.
  const e = errors.find((x) => x.keyword == 'propertyNames') ?? errors.find((x) => x.keyword != 'if') ?? errors[0];
  return httpError(400, describe(e, false), describe(e, true));
}

/** `forLog`: no key from the request, neither in the path nor quoted. */
function describe(e: FastifySchemaValidationError, forLog: boolean): string {
  const at = pathOf(e.instancePath, forLog);
  const params = e.params as Record<string, any>;
  const where = at || 'body';
  switch (e.keyword) {
    case 'required':
      return `${at ? `${at}.` : ''}${params.missingProperty}: is required`;
    case 'additionalProperties':
      return `${where}: unknown field${forLog ? '' : ` ${quote(params.additionalProperty)}`}`;
    case 'maxItems':
    case 'maxProperties':
      return `${where}: too many (max ${params.limit})`;
    case 'maxLength':
      return `${where}: too long (max ${params.limit} characters)`;
    case 'minLength':
      return `${where}: must not be empty`;
    case 'propertyNames':
      return `${where}: ${forLog ? 'a key' : `key ${quote(params.propertyName)}`} must have 1-64 characters`;
    case 'type':
      return `${where}: must be ${typeList(params.type)}`;
    case 'const':
      return `${where}: must be ${JSON.stringify(params.allowedValue)}`;
    case 'enum':
      return `${where}: must be one of ${params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `${where}: must match ${params.pattern}`;
    default:
      return `${where}: ${e.message}`;
  }
}

export function errorHandling(app: FastifyInstance, metrics: Metrics) {
  app.setErrorHandler((error: FastifyError | StoreUnavailableError, request, reply) => {
    if (error instanceof StoreUnavailableError) {
      metrics.storeErrors.inc();
      noteProblem(request, error.message);
      return reply.code(503).header('retry-after', '1').send({ error: 'profile store unavailable' });
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error, path: pathOnly(request.url) }, 'request failed');
      noteProblem(request, 'internal error');
      return reply.code(500).send({ error: 'internal error' });
    }
    let message = error.message;
    // Our errors say what may be logged; fastify's own messages may quote the request (a URL), so
    // the log gets their code.
    let problem = isHttpError(error) ? error.problem : ((error as FastifyError).code ?? 'bad request');
    if ((error as FastifyError).code == 'FST_ERR_CTP_BODY_TOO_LARGE') {
      problem = message = `body too large (max ${request.routeOptions.bodyLimit} bytes)`;
      // The rest of an oversized upload is not read: end the connection after the answer.
      reply.header('connection', 'close');
    } else if ((error as FastifyError).code == 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      problem = message = 'unsupported content type';
    }
    noteProblem(request, problem);
    return reply.code(status).send({ error: message });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
}
