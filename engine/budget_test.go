package engine

import (
	"errors"
	"testing"
	"time"
)

func TestRoomBudget(t *testing.T) {
	client, server := rate{3, time.Second}, rate{5, 100 * time.Millisecond}
	type step struct {
		at   time.Duration
		by   creator
		want error // nil, ErrClientRoomBudget or ErrRoomRate
	}
	a, b := creator{rated: true, key: "a"}, creator{rated: true, key: "b"}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a client's burst, then refused", []step{{0, a, nil}, {0, a, nil}, {0, a, nil}, {0, a, ErrClientRoomBudget}}},
		{"a client's bucket refills at its rate", []step{{0, a, nil}, {0, a, nil}, {0, a, nil}, {999 * time.Millisecond, a, ErrClientRoomBudget}, {time.Second, a, nil}, {time.Second, a, ErrClientRoomBudget}}},
		{"clients have their own buckets", []step{{0, a, nil}, {0, a, nil}, {0, a, nil}, {0, b, nil}, {0, a, ErrClientRoomBudget}}},
		{"the server's burst binds all clients", []step{{0, a, nil}, {0, a, nil}, {0, a, nil}, {0, b, nil}, {0, b, nil}, {0, b, ErrRoomRate}}},
		{"quick play pays the server only", []step{{0, creator{rated: true}, nil}, {0, creator{rated: true}, nil}, {0, creator{rated: true}, nil}, {0, creator{rated: true}, nil}, {0, creator{rated: true}, nil}, {0, creator{rated: true}, ErrRoomRate}, {100 * time.Millisecond, creator{rated: true}, nil}}},
		{"the Go API pays nothing", []step{{0, creator{}, nil}, {0, creator{}, nil}, {0, creator{}, nil}, {0, creator{}, nil}, {0, creator{}, nil}, {0, creator{}, nil}, {0, a, nil}}},
		{"a refusal by the server costs the client nothing", []step{{0, b, nil}, {0, b, nil}, {0, b, nil}, {0, creator{rated: true}, nil}, {0, creator{rated: true}, nil}, {0, a, ErrRoomRate}, {100 * time.Millisecond, a, nil}, {100 * time.Millisecond, a, ErrRoomRate}, {200 * time.Millisecond, a, nil}, {300 * time.Millisecond, a, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := newRoomBudget(client, server, 0)
			for i, s := range tt.steps {
				err := rb.take(s.by, s.at)
				if (tt.steps[i].want == nil) != (err == nil) || (err != nil && !errors.Is(err, s.want)) {
					t.Fatalf("step %d (%v at %v): %v, want %v", i, s.by, s.at, err, s.want)
				}
			}
		})
	}
}

func TestRoomBudgetOff(t *testing.T) {
	rb := newRoomBudget(rate{-1, time.Second}, rate{-1, time.Second}, 0)
	for i := range 1000 {
		if err := rb.take(creator{rated: true, key: "a"}, 0); err != nil {
			t.Fatalf("room %d refused with budgets off: %v", i, err)
		}
	}
	if rb.tracked() != 0 {
		t.Fatalf("%d clients tracked with the per-client budget off", rb.tracked())
	}
}

// TestRoomBudgetForgetsClientsWhoseBucketRefilled: many addresses (an IPv6 range) must not
// grow the map without end.
func TestRoomBudgetForgetsClientsWhoseBucketRefilled(t *testing.T) {
	rb := newRoomBudget(rate{2, time.Second}, rate{-1, 0}, 0)
	for i := range 100 {
		_ = rb.take(creator{rated: true, key: string(rune('a' + i))}, 0)
	}
	if rb.tracked() != 100 {
		t.Fatalf("%d clients tracked, want 100", rb.tracked())
	}
	_ = rb.take(creator{rated: true, key: "late"}, 2*time.Second)
	if rb.tracked() != 1 {
		t.Fatalf("after every bucket refilled, %d clients are tracked, want 1", rb.tracked())
	}
}
