// The Colyseus side of the benchmark: a stock Colyseus server (WebSocketTransport with its
// default options: no permessage-deflate, 3 s pings) serving the "shooter" room.
//
//	node server.mjs [-addr 127.0.0.1:2567]
//
// It prints "listening <host:port>" once it accepts connections. Colyseus itself stops it
// gracefully on SIGINT or SIGTERM (its gracefullyShutdown option, on by default).
import { Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { ShooterRoom } from './room.mjs';

function parseArgs(argv) {
  let addr = '127.0.0.1:2567';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--?/, '');
    if (a === 'addr' && i + 1 < argv.length) addr = argv[++i];
    else if (a.startsWith('addr=')) addr = a.slice(5);
    else throw new Error(`server.mjs: unknown argument ${argv[i]} (usage: node server.mjs [-addr host:port])`);
  }
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i) || '127.0.0.1';
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`server.mjs: bad -addr ${addr}`);
  return { host, port };
}

const { host, port } = parseArgs(process.argv.slice(2));
const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define('shooter', ShooterRoom);
await server.listen(port, host);
console.log(`listening ${host}:${port}`);

