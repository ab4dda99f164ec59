package contract

import (
	"errors"
	"testing"
)

func TestTokens(t *testing.T) {
	s := Subjects{}
	tests := []struct{ got, want string }{
		{s.Event("/chat", "createRoom"), "sb.ev.chat.createRoom"},
		{s.Event("/", "user.joined"), "sb.ev._.user%2Ejoined"},
		{s.Event("/_", "_"), "sb.ev.%5F.%5F"},
		{s.Event("/a b", "a b"), "sb.ev.a%20b.a%20b"},
		{s.Event("/x", ""), "sb.ev.x._"},
		{s.Event("/ü", "*>"), "sb.ev.%C3%BC.%2A%3E"},
		{s.Event("/a/b", "100%"), "sb.ev.a%2Fb.100%25"},
		{Subjects{Prefix: "app.rt"}.Conn("/chat"), "app.rt.conn.chat"},
		{s.Presence("/", "general"), "sb.presence._.general"},
		{s.Command("emit"), "sb.cmd.emit"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, ns := range []string{"/", "/chat", "/_", "/a.b", "/%", "/é", "/a b/c", "/-"} {
		back, err := ParseNamespaceToken(NamespaceToken(ns))
		if err != nil || back != ns {
			t.Errorf("namespace %q -> %q -> %q, %v", ns, NamespaceToken(ns), back, err)
		}
	}
	for _, name := range []string{"", "_", "x", "user.joined", "a b", "%41", "日本"} {
		back, err := ParseNameToken(NameToken(name))
		if err != nil || back != name {
			t.Errorf("name %q -> %q -> %q, %v", name, NameToken(name), back, err)
		}
	}
	for _, bad := range []string{"", "%", "%4", "%GG", "a.b"} {
		if _, err := ParseNameToken(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("ParseNameToken(%q) = %v, want ErrBadToken", bad, err)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for p, want := range map[string]bool{"sb": true, "app.rt": true, "a-b_c.d": true, "": false, "a..b": false, "a.": false, "a b": false, "a.*": false, "a.>": false} {
		if ValidPrefix(p) != want {
			t.Errorf("ValidPrefix(%q) = %v", p, !want)
		}
	}
}

func FuzzNameToken(f *testing.F) {
	for _, s := range []string{"", "_", "a.b", "%", "é", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tok := NameToken(name)
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; !plain(c) && c != '%' {
				t.Fatalf("token %q of %q has byte %q", tok, name, c)
			}
		}
		back, err := ParseNameToken(tok)
		if err != nil || back != name {
			t.Fatalf("%q -> %q -> %q, %v", name, tok, back, err)
		}
	})
}
