module github.com/rallypoint/rallypoint

go 1.26

require (
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/klauspost/compress v1.20.3
	github.com/lithammer/shortuuid/v4 v4.3.0
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)
