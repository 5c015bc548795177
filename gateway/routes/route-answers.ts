import type { GatewayMetrics } from '../gateway-metrics.js';
import { readBody } from '../http/body-reader.js';
import type { HttpExchange } from '../http/http-exchange.js';
import { problemResponse } from '../http/problem.js';
import { declaredContentLength } from '../http/request-head.js';

/** Refusals read a body up to this size before answering, to keep the connection open. */
const drainBeforeRefusalBytes = 64 * 1024;

export interface RouteAnswers {
  /** Answers and counts the request (status, duration) unless the client went away. */
  answer(
    exchange: HttpExchange,
    startedNs: bigint,
    status: number,
    headers: Record<string, string>,
    body: string,
  ): void;
  /** Answers an error as a problem document; an unexpected one goes to `onUnexpected` first. */
  answerProblem(
    exchange: HttpExchange,
    startedNs: bigint,
    error: unknown,
    headers?: Readonly<Record<string, string>>,
  ): void | Promise<void>;
}

/**
 * How the hot write routes (`/v1/events`, `/in/{id}`) answer: counted in the request metrics, and
 * refused without closing the client's connection when its body is small.
 */
export function routeAnswers(
  metrics: Pick<GatewayMetrics, 'requests' | 'requestDuration'>,
  route: string,
  onUnexpected: (error: unknown) => void,
): RouteAnswers {
  const answer: RouteAnswers['answer'] = (exchange, startedNs, status, headers, body) => {
    if (exchange.respond(status, headers, body)) {
      metrics.requests.inc({ route, status: String(status) });
      metrics.requestDuration.observe({ route }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    }
  };
  return {
    answer,
    answerProblem(exchange, startedNs, error, headers = {}) {
      const problem = problemResponse(error, { headers });
      if (problem.error.code === 'SLUICE_INTERNAL') onUnexpected(error);
      const send = () => answer(exchange, startedNs, problem.status, problem.headers, problem.body);
      // Answering with body bytes unread closes the connection. For a small body (the usual
      // single event) reading it costs far less than the reconnect a flash-sale client or a
      // provider would then make for every shed or limited request, so read it and keep it.
      const declared = declaredContentLength(exchange.head);
      if (
        exchange.requestBodyPending &&
        typeof declared === 'number' &&
        declared <= drainBeforeRefusalBytes
      ) {
        return readBody(exchange, { maxBodyBytes: drainBeforeRefusalBytes }).then(send, send);
      }
      send();
    },
  };
}
