// A fake WebSocket for tests that drive the Client message by message on Node's mock timers.
import { connect, decodeMessage, encodeMessage, Kind, SnapshotMirror } from "../dist/rallypoint.js";

/**
 * A client connected to a fake socket whose server agrees to `protocol`, open, closed when
 * test `t` ends; `log` records the traffic.
 */
export function seated(t, protocol) {
  const log = [];
  const { FakeWebSocket, sockets } = fakeSocket(log, { protocol });
  const client = connect("ws://fake/play", { WebSocket: FakeWebSocket, pingInterval: 0, ackDelay: 0 });
  t.after(() => client.close());
  const ws = sockets[0];
  ws.open();
  return { client, ws, log };
}

/**
 * A WebSocket that records what the client sends in one log with what the test delivers.
 * The server it fakes agrees to `protocol` if the client offers it ("" otherwise, which the
 * client refuses); without `protocol`, to the first the client offers.
 */
export function fakeSocket(log, { protocol } = {}) {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.protocol = protocol === undefined ? protocols[0] : protocols.includes(protocol) ? protocol : "";
      this.readyState = 0;
      this.binaryType = "blob";
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }
    send(data) {
      const msg = decodeMessage(data);
      if (msg[0] !== Kind.Ping) log.push({ sent: msg });
    }
    close(code, reason) {
      this.readyState = 3;
      this.closedWith = { code, reason };
    }
    /** The server closes the connection with code. */
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose?.({ code, reason: "" });
    }
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    deliver(msg) {
      // v1 [18, body] holds the tick in its body, v2 [18, last_seq, tick, ...] third.
      if (msg[0] === Kind.Snapshot) log.push({ snapshot: msg.length >= 5 ? msg[2] : msg[1][0] });
      this.onmessage?.({ data: encodeMessage(msg) });
    }
  }
  return { FakeWebSocket, sockets };
}

/**
 * Returns a function that turns v1 snapshot bodies into the v2 messages a server would send
 * for the same snapshots, `[18, lastSeq, tick, offset, changed, added, removed]`: changed
 * flat and first, an integer that replaces an integer as its difference, and the empty lists
 * at the end left out. It keeps every state it
 * was given (a SnapshotMirror of its own) to know the baseline's values; a delta against a
 * baseline it never saw keeps its values as they are (the client drops it anyway). The
 * bodies' integers must be JS integers and their floats not whole (encodeMessage writes a
 * whole number as an integer).
 */
export function v2Encoder() {
  const states = new SnapshotMirror(1024);
  return (body, lastSeq = null) => {
    const [tick, baseline, added, removed, changed] = body;
    const base = baseline === 0 ? undefined : states.stateAt(baseline);
    const flat = [];
    for (const [id, mask, ...values] of changed) {
      const old = base?.get(id);
      flat.push(id, mask);
      let v = 0;
      for (let i = 0, bits = mask; bits > 0; i++, bits = Math.floor(bits / 2)) {
        if (bits % 2 === 0) continue;
        const was = old?.fields[i];
        const now = values[v++];
        flat.push(Number.isInteger(was) && Number.isInteger(now) ? now - was : now);
      }
    }
    try {
      states.apply(body);
    } catch {
      // unknown baseline, or not newer: the test's point, not this encoder's
    }
    const msg = [Kind.Snapshot, lastSeq, tick, baseline === 0 ? 0 : tick - baseline, flat, added, removed];
    while (msg.length > 5 && msg[msg.length - 1].length === 0) msg.pop();
    return msg;
  };
}
