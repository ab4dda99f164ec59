package deploy_test

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No Docker engine is needed: these tests read the Dockerfile and run its
// build steps with the local Go toolchain, on the build context that
// .dockerignore leaves.

// instr is one Dockerfile instruction.
type instr struct {
	cmd  string // upper case: FROM, RUN, COPY…
	args string
}

// stage is one FROM … AS name section.
type stage struct {
	name, base string
	instrs     []instr
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// dockerfileStages parses the Dockerfile: comments dropped, continuation
// lines joined.
func dockerfileStages(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	return stages
}

func findStage(t *testing.T, name string) stage {
	t.Helper()
	for _, s := range dockerfileStages(t) {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile: no stage %q", name)
	return stage{}
}

// dockerfileEntrypoint returns the ENTRYPOINT (exec form) of a stage.
func dockerfileEntrypoint(t *testing.T, name string) []string {
	t.Helper()
	eps := findStage(t, name).all("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("Dockerfile stage %s: %d ENTRYPOINTs", name, len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0]), &ep); err != nil {
		t.Fatalf("Dockerfile stage %s: ENTRYPOINT %s is not the exec form: %v", name, eps[0], err)
	}
	return ep
}

// goBuilds returns the binaries the build stage makes: output path → package.
var goBuildRE = regexp.MustCompile(`go build (?:-ldflags="([^"]*)" )?-o (\S+) (\S+)`)

func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t)
	var names []string
	for _, s := range stages {
		names = append(names, s.name)
	}
	if want := []string{"build", "chat", "switchboard"}; !slices.Equal(names, want) {
		t.Fatalf("stages %q, want %q (switchboard last: the default target)", names, want)
	}
	build := stages[0]
	if !slices.Contains(build.all("ENV"), "CGO_ENABLED=0 GOFLAGS=-trimpath") {
		t.Errorf("build stage: ENV %q, want CGO_ENABLED=0 (static binaries)", build.all("ENV"))
	}
	built := map[string]string{} // /out/x → package
	for _, run := range build.all("RUN") {
		for _, m := range goBuildRE.FindAllStringSubmatch(run, -1) {
			built[m[2]] = m[3]
		}
	}
	if want := map[string]string{"/out/switchboard": "./cmd/switchboard", "/out/chat": "./examples/chat"}; !mapsEqual(built, want) {
		t.Errorf("build stage builds %v, want %v", built, want)
	}

	for _, name := range []string{"chat", "switchboard"} {
		s := findStage(t, name)
		if !strings.HasPrefix(s.base, "alpine:") {
			t.Errorf("stage %s: base %s, want alpine (busybox wget and sh for the health check)", name, s.base)
		}
		users := s.all("USER")
		if len(users) != 1 || strings.HasPrefix(users[0], "0") || strings.HasPrefix(users[0], "root") {
			t.Errorf("stage %s: USER %q, want one non-root user", name, users)
		}
		if len(s.all("HEALTHCHECK")) != 1 {
			t.Errorf("stage %s: no HEALTHCHECK", name)
		}
		copies := s.all("COPY")
		want := "--from=build /out/" + name + " /usr/local/bin/" + name
		if !slices.Contains(copies, want) {
			t.Errorf("stage %s: COPY %q, want %q", name, copies, want)
		}
	}
	sb := findStage(t, "switchboard")
	if got := sb.all("EXPOSE"); !slices.Equal(got, []string{"3000"}) {
		t.Errorf("switchboard: EXPOSE %q, want 3000", got)
	}
	if ep := dockerfileEntrypoint(t, "switchboard"); !slices.Equal(ep, []string{"switchboard"}) {
		t.Errorf("switchboard: ENTRYPOINT %q", ep)
	}
	if hc := sb.all("HEALTHCHECK"); len(hc) == 1 && !strings.Contains(hc[0], "http://127.0.0.1:3000/readyz") {
		t.Errorf("switchboard: HEALTHCHECK %q, want /readyz on the default --addr", hc[0])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var (
	imageOnce    once
	imageBinPath map[string]string // binary name → path
	imageContext string            // the build context, as .dockerignore leaves it
)

// imageBins builds the binaries of the images once per run, as the
// Dockerfile's build stage does (its go build commands, its environment,
// VERSION=v0.0.0-imagetest) on a copy of the build context that
// .dockerignore leaves. The other tests run these binaries.
func imageBins(t *testing.T) map[string]string {
	t.Helper()
	imageOnce.do(t, func() error {
		ctxDir := filepath.Join(tmpDir, "context")
		if err := copyBuildContext(repoRoot(), ctxDir); err != nil {
			return err
		}
		imageContext = ctxDir
		stages := dockerfileStages(t)
		if len(stages) == 0 || stages[0].name != "build" {
			return fmt.Errorf("Dockerfile: the first stage is not \"build\"")
		}
		bins := map[string]string{}
		for _, run := range stages[0].all("RUN") {
			for _, m := range goBuildRE.FindAllStringSubmatch(run, -1) {
				ldflags := strings.ReplaceAll(m[1], "${VERSION}", "v0.0.0-imagetest")
				name := filepath.Base(m[2])
				bin := filepath.Join(tmpDir, "image", name)
				if err := goBuildIn(ctxDir, bin, m[3], []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath"}, "-ldflags="+ldflags); err != nil {
					return fmt.Errorf("the Dockerfile's build on the build context: %v", err)
				}
				bins[name] = bin
			}
		}
		imageBinPath = bins
		return nil
	})
	return imageBinPath
}

// copyBuildContext copies the files of root that .dockerignore keeps to dst.
func copyBuildContext(root, dst string) error {
	ignore, err := readDockerignore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if ignore.excluded(rel) {
			if d.IsDir() && !ignore.negations {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
}

// The build stage's commands succeed on the build context .dockerignore
// leaves, and make static binaries; VERSION reaches 'switchboard version'.
func TestDockerBuildContext(t *testing.T) {
	bins := imageBins(t)
	for _, gone := range []string{".git", "itest/js/node_modules", "docs", "deploy"} {
		if _, err := os.Stat(filepath.Join(imageContext, gone)); err == nil {
			t.Errorf("the build context has %s", gone)
		}
	}
	for _, keep := range []string{"go.mod", "go.sum", "cmd/switchboard/main.go", "examples/chat/main.go"} {
		if _, err := os.Stat(filepath.Join(imageContext, keep)); err != nil {
			t.Errorf("the build context lacks %s", keep)
		}
	}
	if len(bins) != 2 {
		t.Errorf("binaries %v, want switchboard and chat", bins)
	}
	for name, bin := range bins {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (%v)", name, libs)
			}
		}
		f.Close()
	}
	b, err := exec.Command(bins["switchboard"], "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(b), "switchboard v0.0.0-imagetest\n") {
		t.Errorf("switchboard version: %v %q", err, b)
	}
}

// dockerignore holds the patterns of a .dockerignore file.
type dockerignore struct {
	rules     []ignoreRule
	negations bool
}

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

func readDockerignore(path string) (*dockerignore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	di := &dockerignore{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if p, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line, di.negations = true, p, true
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		re, err := regexp.Compile("^" + ignoreRegexp(line) + "$")
		if err != nil {
			return nil, fmt.Errorf(".dockerignore %q: %v", line, err)
		}
		r.re = re
		di.rules = append(di.rules, r)
	}
	return di, nil
}

// ignoreRegexp translates a .dockerignore pattern (Go's filepath.Match
// syntax, plus ** for any number of directories).
func ignoreRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case c == '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				b.WriteString(`\[`)
				continue
			}
			b.WriteString(p[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	return b.String()
}

// excluded reports whether rel (slash-separated, relative to the context)
// is left out: the last rule matching it or one of its parents decides.
func (di *dockerignore) excluded(rel string) bool {
	out := false
	for _, r := range di.rules {
		if r.matches(rel) {
			out = !r.negate
		}
	}
	return out
}

func (r ignoreRule) matches(rel string) bool {
	for p := rel; ; {
		if r.re.MatchString(p) {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}
