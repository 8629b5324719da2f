/**
 * Every error answer is JSON `{ "error": "..." }` naming the problem without echoing the request
 * (which may hold private signals or declared ids): 400 for a bad body, 413 for an oversized
 * one, 503 when the profile store is down (with Retry-After, so the SDK retries), 500 otherwise.
 */
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { StoreUnavailableError } from '../stores/types';
import { noteProblem, pathOnly } from './logging';
import type { Metrics } from './metrics';

export interface HttpError extends Error {
  statusCode: number;
}

export function httpError(statusCode: number, message: string): HttpError {
  return Object.assign(new Error(message), { statusCode });
}

/** `/events/0/signals` -> `events[0].signals` */
function pathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

const quote = (s: unknown) => {
  const str = String(s);
  return JSON.stringify(str.length > 40 ? `${str.slice(0, 40)}...` : str);
};

const TYPES: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'a boolean', array: 'an array', object: 'an object', null: 'null' };
const typeList = (t: string | string[]) => {
  const names = (Array.isArray(t) ? t : [t]).map((x) => TYPES[x] ?? x);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
};

/** One line for the first schema problem, in the terms of docs/protocol.md. */
export function formatSchemaErrors(errors: FastifySchemaValidationError[]): Error {
  // A bad key is reported twice (its own rule, then `propertyNames`): say it as a key problem.
  const e = errors.find((x) => x.keyword == 'propertyNames') ?? errors.find((x) => x.keyword != 'if') ?? errors[0];
  const at = pathOf(e.instancePath);
  const params = e.params as Record<string, any>;
  const where = at || 'body';
  let message: string;
  switch (e.keyword) {
    case 'required':
      message = `${at ? `${at}.` : ''}${params.missingProperty}: is required`;
      break;
    case 'additionalProperties':
      message = `${where}: unknown field ${quote(params.additionalProperty)}`;
      break;
    case 'maxItems':
    case 'maxProperties':
      message = `${where}: too many (max ${params.limit})`;
      break;
    case 'maxLength':
      message = `${where}: too long (max ${params.limit} characters)`;
      break;
    case 'minLength':
      message = `${where}: must not be empty`;
      break;
    case 'propertyNames':
      message = `${where}: key ${quote(params.propertyName)} must have 1-64 characters`;
      break;
    case 'type':
      message = `${where}: must be ${typeList(params.type)}`;
      break;
    case 'const':
      message = `${where}: must be ${JSON.stringify(params.allowedValue)}`;
      break;
    case 'enum':
      message = `${where}: must be one of ${params.allowedValues.map((v: unknown) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'pattern':
      message = `${where}: must match ${params.pattern}`;
      break;
    default:
      message = `${where}: ${e.message}`;
  }
  return httpError(400, message);
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
    if ((error as FastifyError).code == 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `body too large (max ${request.routeOptions.bodyLimit} bytes)`;
      // The rest of an oversized upload is not read: end the connection after the answer.
      reply.header('connection', 'close');
    } else if ((error as FastifyError).code == 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = 'unsupported content type';
    }
    noteProblem(request, message);
    return reply.code(status).send({ error: message });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));
}
