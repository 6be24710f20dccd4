import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

/** How long a connection may stay silent before it is closed (API Gateway keeps one up to 60 s idle). */
const IDLE_TIMEOUT_MS = 65_000;

/** How an HTTP/2 connection with prior knowledge begins. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0');

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * One port for both HTTP versions, as API Gateway's: the AWS SDK's Bedrock client speaks HTTP/2
 * (with prior knowledge, on cleartext here), curl and fetch HTTP/1.1. Each connection goes to the
 * server of the version its first bytes announce; both serve `handle`.
 */
export function dualProtocolServer(handle: Handler): {
  server: net.Server;
  h1: http.Server;
  sockets: Set<net.Socket>;
} {
  const h1 = http.createServer(handle);
  const h2 = http2.createServer(handle);
  const server = net.createServer((socket) => {
    // A stream's frames are small: without this, Nagle holds each one back until the last is acknowledged.
    socket.setNoDelay(true);
    // A client that resets before its first bytes must not take the process down.
    socket.on('error', () => socket.destroy());
    // A silent connection is closed, as API Gateway closes one.
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    let head = Buffer.alloc(0);
    const sniff = () => {
      for (let chunk = socket.read(); chunk; chunk = socket.read()) head = Buffer.concat([head, chunk]);
      // Until the first bytes tell, wait: a preface may come in more than one packet.
      const undecided =
        head.length < HTTP2_PREFACE.length && HTTP2_PREFACE.subarray(0, head.length).equals(head);
      if (undecided) {
        socket.once('readable', sniff);
        return;
      }
      socket.setTimeout(0);
      socket.unshift(head);
      (head.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE) ? h2 : h1).emit('connection', socket);
    };
    socket.once('readable', sniff);
  });
  // HTTP/2 sessions that stay silent are closed too.
  h2.on('session', (session) => session.setTimeout(IDLE_TIMEOUT_MS, () => session.close()));
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return { server, h1, sockets };
}
