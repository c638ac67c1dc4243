module github.com/rallypoint/rallypoint/bench/wsbench

go 1.26.0

replace github.com/rallypoint/rallypoint => ../..

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
	github.com/klauspost/compress v1.20.4
	github.com/lxzan/gws v1.8.9
	github.com/rallypoint/rallypoint v0.0.0-00010101000000-000000000000
)

require github.com/dolthub/maphash v0.1.0 // indirect
