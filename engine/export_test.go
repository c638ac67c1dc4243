package engine

import "github.com/rallypoint/rallypoint/net/ws"

// SeatForTest seats a player on conn (a server-side connection the test made) in room id,
// as a session does after the handshake, and waits for the room's answer. It lets the
// external tests measure a room's cost with players but without the clients' own memory.
func SeatForTest(e *Engine, id string, conn *ws.Conn) error {
	rc := e.room(id)
	if rc == nil {
		return ErrUnknownGame
	}
	reply := make(chan joinResult, 1)
	if !rc.enqueue(command{kind: cmdJoin, conn: conn, reply: reply, session: e.newID()}) {
		return ErrShuttingDown
	}
	if res := <-reply; res.err != nil {
		return res.err
	}
	return nil
}
