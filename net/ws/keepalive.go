package ws

import "time"

// Keepalive runs on a timer, not a goroutine: an idle connection costs a timer. Each tick it
// looks at when the peer was last heard from and when data last moved:
//   - heard nothing for PingInterval: send a ping (RFC 6455 §5.5.2) and check again after
//     PongTimeout;
//   - a ping is outstanding and nothing arrived within PongTimeout: the peer is gone; drop it;
//   - no data message for IdleTimeout: close with 1001.
func (c *Conn) startKeepalive() {
	if c.lim.PingInterval < 0 && c.lim.IdleTimeout < 0 {
		return
	}
	// Assign before arming, so the callback always sees c.ka.
	c.ka = time.AfterFunc(time.Hour, c.keepalive)
	c.ka.Reset(c.nextKeepalive())
}

func (c *Conn) nextKeepalive() time.Duration {
	d := c.lim.PingInterval
	if d < 0 || (c.lim.IdleTimeout > 0 && c.lim.IdleTimeout < d) {
		d = c.lim.IdleTimeout
	}
	return d
}

func (c *Conn) keepalive() {
	if c.ncClosed.Load() {
		return
	}
	now := monoNow()
	if c.lim.IdleTimeout > 0 && now-c.lastData.Load() >= int64(c.lim.IdleTimeout) {
		c.setFailure(StatusGoingAway, "idle timeout", true)
		go func() { _ = c.Close(StatusGoingAway, "idle timeout") }()
		return
	}
	next := c.nextKeepalive()
	if c.lim.PingInterval > 0 {
		heard := c.lastRead.Load()
		if sent := c.pingSent.Load(); sent != 0 && heard < sent {
			if now-sent >= int64(c.lim.PongTimeout) {
				c.metrics.PeersSilent.Add(1)
				c.setFailure(StatusAbnormalClosure, "no pong within the pong timeout", true)
				c.closeNetConn()
				return
			}
			next = time.Duration(int64(c.lim.PongTimeout) - (now - sent))
		} else if now-heard >= int64(c.lim.PingInterval) {
			if d, stranded := c.rescueStranded(heard); stranded {
				next = d // not silent: its bytes wait unread
			} else {
				c.pingSent.Store(now)
				_ = c.sendControl(opPing, nil)
				next = c.lim.PongTimeout
			}
		} else {
			c.pingSent.Store(0)
			next = time.Duration(int64(c.lim.PingInterval) - (now - heard))
		}
	}
	if idle := time.Duration(int64(c.lim.IdleTimeout) - (now - c.lastData.Load())); c.lim.IdleTimeout > 0 && idle < next {
		next = idle
	}
	if next <= 0 {
		next = time.Millisecond
	}
	c.ka.Reset(next)
}
