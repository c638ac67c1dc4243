// Package protocol is the rallypoint.v1 wire protocol, written once: the subprotocol name,
// the message kinds, the codes and the Error that carries them, the options a client sends,
// Marshal (the encoding the server uses) and Reader, the one msgpack scanner the Go side
// reads messages with. PROTOCOL.md at the repository root is the specification, with byte
// examples; every name here cites the section it implements.
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
