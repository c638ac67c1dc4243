// node_server.mjs: an echo server built on the `ws` package, used as the SERVER peer of our
// ws.Dial client in net/ws/interop_test.go.
//
//   node node_server.mjs [--port 0] [--deflate on|off] [--max-size BYTES]
//
// Prints {"event":"listening","port":N,...} once, then for every connection
//   {"event":"open","tag":T,"path":P,"extensions":E,"protocol":S}
//   {"event":"closed","tag":T,"code":C,"reason":R,"messages":N}
// where code/reason are what the client sent in its close frame (1005 when it sent none,
// 1006 when the TCP connection dropped without a close frame).
//
// The request path and query select the behaviour of one connection:
//   /echo?tag=T               echo every message with its type
//   /echo?tag=T&fragment=N    echo every message as N fragments (text split inside UTF-8
//                             sequences, continuation frames; compressed when negotiated)
//   /echo?tag=T&ping=1        also send a ping between the first two fragments of an echo
//   /close?tag=T&code=C&reason=R   close with C/R right after the opening handshake
// Subprotocol "rallypoint.v1" is selected when the client offers it.
import { WebSocketServer } from 'ws';
import { emit, parseArgs, splitBuffer } from './lib.mjs';
import { createRequire } from 'node:module';

const args = parseArgs(process.argv.slice(2), { port: 0, deflate: true, 'max-size': 64 << 20 });
const wsVersion = createRequire(import.meta.url)('ws/package.json').version;

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: args.port,
  maxPayload: args['max-size'],
  // threshold 0: compress every message, small ones too, so short frames are covered.
  perMessageDeflate: args.deflate ? { threshold: 0 } : false,
  handleProtocols: (protocols) => (protocols.has('rallypoint.v1') ? 'rallypoint.v1' : false),
});

wss.on('headers', (headers, req) => {
  const h = headers.find((x) => x.toLowerCase().startsWith('sec-websocket-extensions:'));
  req.rpExtensions = h ? h.slice(h.indexOf(':') + 1).trim() : '';
});

wss.on('listening', () => {
  emit({ event: 'listening', port: wss.address().port, peer: 'node-ws', version: wsVersion, deflate: args.deflate });
});

wss.on('connection', (ws, req) => {
  const url = new URL(req.url, 'http://peer.invalid');
  const tag = url.searchParams.get('tag') || '';
  const fragment = Number(url.searchParams.get('fragment') || '1');
  const pingBetween = url.searchParams.get('ping') === '1';
  let messages = 0;
  emit({ event: 'open', tag, path: url.pathname, extensions: req.rpExtensions || '', protocol: ws.protocol });

  ws.on('close', (code, reason) => {
    emit({ event: 'closed', tag, code, reason: reason.toString('utf8'), messages });
  });
  ws.on('error', (err) => {
    emit({ event: 'error', tag, error: String(err && err.message) });
  });

  if (url.pathname === '/close') {
    ws.close(Number(url.searchParams.get('code') || '1000'), url.searchParams.get('reason') || '');
    return;
  }

  ws.on('message', (data, isBinary) => {
    messages++;
    const parts = splitBuffer(data, fragment);
    if (parts.length === 1) {
      ws.send(data, { binary: isBinary });
      return;
    }
    parts.forEach((part, i) => {
      ws.send(part, { binary: isBinary, fin: i === parts.length - 1 });
      if (i === 0 && pingBetween) ws.ping(Buffer.from('between-fragments'));
    });
  });
});

wss.on('error', (err) => {
  emit({ event: 'fatal', error: String(err && err.message) });
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
