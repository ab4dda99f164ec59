package redistest

import "testing"

func TestStartRestart(t *testing.T) {
	s := Start(t)
	if out, err := s.Do("SET", "k", "v"); err != nil || out != "+OK" {
		t.Fatalf("SET: %q %v", out, err)
	}
	s.Restart()
	if out, err := s.Do("EXISTS", "k"); err != nil || out != ":0" {
		t.Fatalf("after restart EXISTS k = %q %v, want :0", out, err)
	}
	s.Stop()
	if err := s.Ping(); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
}
