package main

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moby/moby/client"
)

// e2eSetup is one setup of an end-to-end test: its folder, the name and port
// of its registry container, and its two passwords in files. Every
// container of the setup goes when the test ends, under whatever name a
// failed run left it.
type e2eSetup struct {
	t                     *testing.T
	cli                   *client.Client
	dir, name             string
	port                  int
	adminFile, readerFile string
}

// newE2ESetup makes a setup in dir, or in a new temporary folder when dir is
// empty, with a free port and a container name no other test uses.
func newE2ESetup(t *testing.T, dir string) *e2eSetup {
	t.Helper()
	work := t.TempDir()
	if dir == "" {
		dir = filepath.Join(work, "setup")
	}
	s := &e2eSetup{
		t: t, cli: dockerClient(t), dir: dir, name: uniqueName(t), port: freePort(t),
		adminFile: writeSecret(t, work, "admin.pw", adminPW), readerFile: writeSecret(t, work, "reader.pw", readerPW),
	}
	removeContainer(t, s.cli, s.name)
	removeSetupContainers(t, s.cli, dir)
	return s
}

// initArgs are `paxsetup init --yes` for this setup with image, pulled
// never, and the extra arguments.
func (s *e2eSetup) initArgs(image string, extra ...string) []string {
	return append([]string{"init", "--yes", "--dir", s.dir, "--host", e2eHost, "--port", strconv.Itoa(s.port),
		"--image", image, "--pull", "never", "--name", s.name,
		"--admin-password-file", s.adminFile, "--reader-password-file", s.readerFile, "--no-color"}, extra...)
}

// init runs initArgs.
func (s *e2eSetup) init(image string, extra ...string) run {
	s.t.Helper()
	return runBinary(s.t, nil, s.initArgs(image, extra...)...)
}

// run runs a paxsetup command on this setup.
func (s *e2eSetup) run(args ...string) run {
	s.t.Helper()
	return runBinary(s.t, nil, append(append([]string{}, args...), "--dir", s.dir, "--no-color")...)
}

// endpoint is the registry's URL, by the name the tests' clients dial on
// loopback.
func (s *e2eSetup) endpoint() string { return "https://" + e2eHost + ":" + strconv.Itoa(s.port) }

// containers counts the containers of the setup, whatever their names.
func (s *e2eSetup) containers(t *testing.T) int {
	t.Helper()
	return countSetupContainers(t, s.cli, s.dir)
}
