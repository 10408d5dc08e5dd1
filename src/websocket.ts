import type http from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context } from './graphql/builder.ts';
import type { ServerContext } from './server.ts';

/** How often a WebSocket is pinged; it is dropped when MISSED_PINGS in a row go unanswered. */
const KEEP_ALIVE_MS = 12_000;
const MISSED_PINGS = 2;
const CONNECTION_INIT_WAIT_MS = 10_000;

interface Envelope {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * An operation refused before it ran (it did not parse, or was over a limit or a rate), as over HTTP
 * but without the HTTP status and headers, and with a code.
 */
function refusal(err: GraphQLError): GraphQLError {
  const { http: _http, ...extensions } = err.extensions ?? {};
  return new GraphQLError(err.message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } });
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) at /graphql, through the same yoga instance as
 * HTTP: the same schema, plugins, limits and error masking. The key comes in the connection_init
 * payload ({"Authorization": "Bearer <key>"}); an operation without a valid one gets UNAUTHENTICATED
 * as its result, as over HTTP.
 */
export function attachWebSocket(
  server: http.Server,
  yoga: YogaServerInstance<ServerContext, Context>,
  maxMessageBytes: number,
): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  server.on('upgrade', (req, socket, head) => {
    const target = req.url ?? '/';
    if (!URL.canParse(target, 'http://localhost')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (new URL(target, 'http://localhost').pathname !== '/graphql') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  useServer<Record<string, unknown> | undefined>(
    {
      // A socket that has not sent connection_init by then is closed (4408); graphql-ws's 3 s
      // default failed busy clients on a loaded machine.
      connectionInitWaitTimeout: CONNECTION_INIT_WAIT_MS,
      execute: (args) => (args.rootValue as Envelope).execute(args) as never,
      subscribe: (args) => (args.rootValue as Envelope).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
        });
        let document;
        let errors;
        try {
          document = parse(params.query);
          errors = validate(schema, document);
        } catch (err) {
          // A document that does not parse, or is over a limit (graphql-armor's depth, aliases and cost
          // rules throw while validating), or so deeply nested that the parser overflows the stack: the
          // operation's error, not the socket's end.
          if (err instanceof Error && err.name === 'GraphQLError') return [refusal(err as GraphQLError)];
          if (err instanceof RangeError) return [new GraphQLError('The document is nested too deeply.', { extensions: { code: 'BAD_USER_INPUT' } })];
          throw err;
        }
        if (errors.length > 0) return errors;
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          // A refusal of the whole operation (RATE_LIMITED), masked by yoga as over HTTP, is the
          // operation's error, not the socket's end.
          if (err instanceof Error && err.name === 'GraphQLError') return [refusal(err as GraphQLError)];
          throw err;
        }
        return { schema, operationName: params.operationName, document, variableValues: params.variables, contextValue, rootValue: { execute, subscribe } satisfies Envelope };
      },
    },
    wss,
    // graphql-ws's own keep-alive (0: off) drops a socket whose pong is late by one interval: on a
    // busy server its timer can fire before the pong waiting in the socket is read. Ours below
    // allows MISSED_PINGS intervals.
    0,
  );
  wss.on('connection', (ws) => {
    let unanswered = 0;
    const heard = () => (unanswered = 0);
    ws.on('pong', heard);
    ws.on('message', heard);
    const timer = setInterval(() => {
      if (ws.readyState !== ws.OPEN) return;
      if (unanswered >= MISSED_PINGS) {
        ws.terminate();
        return;
      }
      unanswered++;
      ws.ping();
    }, KEEP_ALIVE_MS);
    ws.on('close', () => clearInterval(timer));
  });
  return {
    close() {
      for (const ws of wss.clients) ws.close(1001, 'server stopping');
      wss.close();
    },
  };
}
