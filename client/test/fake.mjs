// A fake WebSocket for tests that drive the Client message by message on Node's mock timers.
import { decodeMessage, encodeMessage, Kind } from "../dist/rallypoint.js";

/** A WebSocket that records what the client sends in one log with what the test delivers. */
export function fakeSocket(log) {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocol = protocols[0];
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
      if (msg[0] === Kind.Snapshot) log.push({ snapshot: msg[1][0] });
      this.onmessage?.({ data: encodeMessage(msg) });
    }
  }
  return { FakeWebSocket, sockets };
}
