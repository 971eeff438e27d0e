package nodeproto

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var errTest = errors.New("stalled")

func TestStall(t *testing.T) {
	cause := func(armed time.Duration) error { return fmt.Errorf("%w after %v", errTest, armed) }

	// Paused, it never fires; armed again, it fires with the new duration.
	s := NewStall(t.Context(), 20*time.Millisecond, cause)
	s.Pause()
	time.Sleep(60 * time.Millisecond)
	if err := s.Context().Err(); err != nil {
		t.Fatalf("paused stall cancelled: %v", err)
	}
	s.Arm(30 * time.Millisecond)
	<-s.Context().Done()
	err := s.Err(context.Canceled, errTest)
	if !errors.Is(err, errTest) || err.Error() != "stalled after 30ms" {
		t.Errorf("Err after firing = %v, want the cause with the armed 30ms", err)
	}
	if err := s.Err(errors.New("other"), errors.New("not the cause")); err.Error() != "other" {
		t.Errorf("Err with another target = %v, want the error as it was", err)
	}
	if s.Err(nil, errTest) != nil {
		t.Error("Err(nil) is not nil")
	}
	s.Done()

	// Re-armed in time, it does not fire; Done cancels without a cause.
	s = NewStall(t.Context(), 40*time.Millisecond, cause)
	for range 4 {
		time.Sleep(20 * time.Millisecond)
		s.Arm(40 * time.Millisecond)
	}
	if err := s.Context().Err(); err != nil {
		t.Fatalf("re-armed stall cancelled: %v", err)
	}
	s.Done()
	if c := context.Cause(s.Context()); !errors.Is(c, context.Canceled) {
		t.Errorf("cause after Done = %v, want context.Canceled", c)
	}
}
