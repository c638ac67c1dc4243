// The Colyseus side of the benchmark: a stock Colyseus server (WebSocketTransport with its
// default options: no permessage-deflate, 3 s pings) serving the "shooter" room.
//
//	node server.mjs [-addr 127.0.0.1:2567] [-metrics-addr 127.0.0.1:9567]
//
// It prints "listening <host:port>" once it accepts connections. With -metrics-addr it also
// serves GET /metrics on that address, a second listener apart from the game's: the rooms'
// simulation-step lateness (lateness.mjs) as the Prometheus histogram
// colyseus_tick_lateness_seconds, with the buckets of Rallypoint's
// rallypoint_tick_lateness_seconds, which bench/capacity reads at the ends of its window. Colyseus itself stops it
// gracefully on SIGINT or SIGTERM (its gracefullyShutdown option, on by default).
import { Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { createServer } from 'node:http';
import { ShooterRoom } from './room.mjs';
import { lateness } from './lateness.mjs';

function hostPort(addr, flag) {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i) || '127.0.0.1';
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`server.mjs: bad ${flag} ${addr}`);
  return { host, port };
}

function parseArgs(argv) {
  let addr = '127.0.0.1:2567';
  let metrics = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--?/, '');
    if (a === 'addr' && i + 1 < argv.length) addr = argv[++i];
    else if (a.startsWith('addr=')) addr = a.slice(5);
    else if (a === 'metrics-addr' && i + 1 < argv.length) metrics = argv[++i];
    else if (a.startsWith('metrics-addr=')) metrics = a.slice(13);
    else throw new Error(`server.mjs: unknown argument ${argv[i]} (usage: node server.mjs [-addr host:port] [-metrics-addr host:port])`);
  }
  return { ...hostPort(addr, '-addr'), metrics: metrics === '' ? null : hostPort(metrics, '-metrics-addr') };
}

const { host, port, metrics } = parseArgs(process.argv.slice(2));
if (metrics !== null) {
  const m = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(lateness.prometheus('colyseus_tick_lateness_seconds', 'How late room simulation steps started against their 1000/60 ms schedule.'));
  });
  await new Promise((resolve, reject) => m.once('error', reject).listen(metrics.port, metrics.host, resolve));
}
const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define('shooter', ShooterRoom);
await server.listen(port, host);
console.log(`listening ${host}:${port}`);

