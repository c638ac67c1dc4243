// Package protocol is the rallypoint.v1 wire protocol, written once: the subprotocol name,
// the message kinds, the codes and the Error that carries them, the options a client sends,
// Marshal (the encoding the server uses), the Append functions for senders on a hot path, and
// Reader, the one hand-written msgpack scanner of the Go side: gameclient and the load
// generator read server messages with it, state's snapshot mirror reads bodies with it, and
// the engine's check of a client message before decoding (internal/msgcheck) walks with it.
// PROTOCOL.md at the repository root is the specification, with byte examples; the doc
// comments here cite its sections.
//
// The package is a leaf: it imports the standard library and vmihailenco/msgpack only, so a
// program that speaks the protocol (gameclient, the load generator, a bot in another
// repository) links neither the engine nor matchmaking. The engine re-exports what game code
// uses (engine.Code, engine.CodeRefused, engine.Error, engine.JoinOptions...) as aliases, so
// a game written against the engine never has to import this package.
//
// The TypeScript SDK holds the same tables in client/src/protocol.ts; a test in this package
// reads that file and fails if a kind or a code differs in name or value, either way.
package protocol
