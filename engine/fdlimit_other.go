//go:build !unix

package engine

func fdLimit() int { return 0 }
