// gcs_gotrace.go — a Go program whose GODEBUG=gctrace=1 lines test/gc/t_gcs_gctrace.sh checks
// against the regular expression goalloc's own trace lines must match: cycles triggered by the
// heap while it builds and drops binary trees, then two forced ones (runtime.GC, "(forced)").
package main

import (
	"fmt"
	"runtime"
)

type node struct {
	left, right *node
	pad         [6]int64
}

func build(depth int) *node {
	if depth == 0 {
		return &node{}
	}
	return &node{left: build(depth - 1), right: build(depth - 1)}
}

func count(n *node) int {
	if n == nil {
		return 0
	}
	return 1 + count(n.left) + count(n.right)
}

var keep *node

func main() {
	total := 0
	for i := 0; i < 40; i++ {
		t := build(14)
		total += count(t)
		if i%10 == 0 {
			keep = t
		}
	}
	runtime.GC()
	runtime.GC()
	fmt.Println("nodes", total, count(keep))
}
