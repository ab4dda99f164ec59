package deploy_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// haproxyCfg is an HAProxy configuration: section header → its lines,
// trimmed, without comments and blank lines.
type haproxyCfg map[string][]string

func readHAProxy(t *testing.T, path string) haproxyCfg {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseHAProxy(string(b))
}

func parseHAProxy(text string) haproxyCfg {
	cfg := haproxyCfg{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' { // a section header
			section = strings.Join(strings.Fields(trimmed), " ")
			cfg[section] = nil
			continue
		}
		cfg[section] = append(cfg[section], strings.Join(strings.Fields(trimmed), " "))
	}
	return cfg
}

// find returns the one line of section that starts with prefix.
func (c haproxyCfg) find(t *testing.T, section, prefix string) string {
	t.Helper()
	lines, ok := c[section]
	if !ok {
		t.Fatalf("haproxy configuration: no section %q", section)
	}
	var found []string
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("haproxy configuration, %s: %d lines starting with %q: %q", section, len(found), prefix, found)
	}
	return found[0]
}

// needHAProxy returns the haproxy binary.
func needHAProxy(t *testing.T) string {
	t.Helper()
	return need(t, "haproxy", "apt-get install -y haproxy")
}

func haproxyCheck(t *testing.T, haproxy, path string) {
	t.Helper()
	out, err := exec.Command(haproxy, "-c", "-f", path).CombinedOutput()
	if err != nil {
		t.Errorf("haproxy -c -f %s: %v\n%s", path, err, out)
	}
	if bytes.Contains(out, []byte("[WARNING]")) {
		t.Errorf("haproxy -c -f %s warns:\n%s", path, out)
	}
}

// renderClusterConfig runs 'scripts/cluster.sh haproxy-config n' with env.
func renderClusterConfig(t *testing.T, n int, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot(), "scripts/cluster.sh"), "haproxy-config", strconv.Itoa(n))
	cmd.Env = append(clusterEnvBase(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cluster.sh haproxy-config: %v", err)
	}
	return string(out)
}

// Both configurations pass 'haproxy -c' without warnings.
func TestHAProxyConfigsValid(t *testing.T) {
	haproxy := needHAProxy(t)
	haproxyCheck(t, haproxy, filepath.Join(repoRoot(), "deploy/haproxy/haproxy.cfg"))

	local := renderClusterConfig(t, 3,
		"SWITCHBOARD_CLUSTER_LB_PORT=23000", "SWITCHBOARD_CLUSTER_MONITOR_PORT=23404",
		"SWITCHBOARD_CLUSTER_EDGE_PORT=23001", "SWITCHBOARD_CLUSTER_ADMIN_PORT=23101")
	cfg := parseHAProxy(local)
	for section, lines := range cfg {
		for _, l := range lines {
			if strings.Contains(l, "@") {
				t.Errorf("rendered configuration, %s: a placeholder is left: %q", section, l)
			}
		}
	}
	if got := cfg.find(t, "frontend socketio", "bind "); got != "bind 127.0.0.1:23000" {
		t.Errorf("rendered: %q", got)
	}
	var servers []string
	for _, l := range cfg["backend edges"] {
		if strings.HasPrefix(l, "server ") {
			servers = append(servers, l)
		}
	}
	want := []string{
		"server edge1 127.0.0.1:23001 check port 23101",
		"server edge2 127.0.0.1:23002 check port 23102",
		"server edge3 127.0.0.1:23003 check port 23103",
	}
	if !slices.Equal(servers, want) {
		t.Errorf("rendered servers %q, want %q", servers, want)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	haproxyCheck(t, haproxy, path)
}

// The compose and the loopback configurations route alike: the same
// defaults, and the same backend rules but for where the servers are and how
// often they are checked.
func TestHAProxyConfigsAlike(t *testing.T) {
	compose := readHAProxy(t, filepath.Join(repoRoot(), "deploy/haproxy/haproxy.cfg"))
	local := readHAProxy(t, filepath.Join(repoRoot(), "deploy/haproxy/cluster.cfg.in"))
	servers := func(l string) bool {
		return strings.HasPrefix(l, "server") || strings.HasPrefix(l, "default-server") || l == "@SERVERS@"
	}
	for _, section := range []string{"global", "defaults", "backend edges"} {
		a := slices.DeleteFunc(slices.Clone(compose[section]), servers)
		b := slices.DeleteFunc(slices.Clone(local[section]), servers)
		if len(a) == 0 || !slices.Equal(a, b) {
			t.Errorf("%s differs:\ncompose: %q\nlocal:   %q", section, a, b)
		}
	}
	for _, section := range []string{"frontend socketio", "frontend monitor"} {
		bind := func(l string) bool { return strings.HasPrefix(l, "bind ") }
		a := slices.DeleteFunc(slices.Clone(compose[section]), bind)
		b := slices.DeleteFunc(slices.Clone(local[section]), bind)
		if !slices.Equal(a, b) {
			t.Errorf("%s differs:\ncompose: %q\nlocal:   %q", section, a, b)
		}
	}
}

// haproxyStats reads /stats;csv: one row per server of backend "edges",
// keyed by server name, with the columns by header name.
func haproxyStats(monitor string) (map[string]map[string]string, error) {
	code, body, err := httpGet("http://" + monitor + "/stats;csv")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET /stats;csv: %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# "))).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 1 {
		return nil, fmt.Errorf("GET /stats;csv: empty")
	}
	head := rows[0]
	out := map[string]map[string]string{}
	for _, r := range rows[1:] {
		if len(r) < 2 || r[0] != "edges" || r[1] == "BACKEND" || r[1] == "FRONTEND" {
			continue
		}
		m := map[string]string{}
		for i, h := range head {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out[r[1]] = m
	}
	return out, nil
}

// serversUp returns the names of the servers with status UP, sorted.
func serversUp(stats map[string]map[string]string) []string {
	var up []string
	for name, s := range stats {
		if strings.HasPrefix(s["status"], "UP") {
			up = append(up, name)
		}
	}
	slices.Sort(up)
	return up
}
