/**
 * Logs are fastify's own (pino, JSON lines). One line per answer, and nothing that can carry a
 * private signal or a declared id: never a query string (GET /event carries p_ keys and d_cid
 * there), a body, or request headers.
 */
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

export interface LoggerOptions {
  /** pino level: `fatal`, `error`, `warn`, `info` (default), `debug`, `trace`, `silent`. */
  level?: string;
  /** Where JSON log lines go. Default stdout. */
  stream?: { write(line: string): void };
}

/** The path of a request URL, without its query, bounded. */
export const pathOnly = (url: string | undefined) => (url ?? '').split('?')[0].slice(0, 200);

const problems = new WeakMap<FastifyRequest, string>();

/** Adds why a request failed to its log line (a message naming the problem, never request data). */
export function noteProblem(request: FastifyRequest, problem: string) {
  problems.set(request, problem);
}

class RequestLog extends LogController {
  override incomingRequest() {}

  override routeNotFound() {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    const line = {
      method: request.method,
      path: pathOnly(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      problem: problems.get(request),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode >= 500) reply.log.warn(line, 'request');
    else reply.log.info(line, 'request');
  }
}

export function loggerOptions(
  logger: boolean | LoggerOptions | undefined,
): Pick<FastifyServerOptions, 'logger' | 'logController'> {
  if (!logger) return { logger: false };
  const { level = 'info', stream } = logger === true ? {} : logger;
  return {
    logger: {
      level,
      ...(stream && { stream }),
      // For the few framework lines that log a request: method and path only.
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, path: pathOnly(req.url) }),
      },
    },
    logController: new RequestLog(),
  };
}
