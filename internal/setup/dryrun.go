package setup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/htpasswd"
	"github.com/paxsetup/paxsetup/internal/render"
)

// Plan is what a dry run would have started.
type Plan struct {
	Spec dockerctl.Spec
	// DockerRun is the equivalent `docker run` command, shell-quoted and
	// free of secrets.
	DockerRun string
	// Engine is false when no engine was asked: the checks of the name,
	// the port and the image were skipped.
	Engine bool
	// ImageMissing is set when the engine lacks the image: a real run pulls
	// it (per --pull), and so does the printed command.
	ImageMissing bool
	// Action is what a real run would do with the container: created,
	// unchanged or replaced.
	Action string
	// Staged is set when the setup was live: the plan's files were written
	// in this folder, beside the live ones, which are left as they were.
	Staged string
}

// dryRun writes the setup's files exactly as a real run does and plans the
// container, but only ever reads from the engine: no pull, no create, no
// start. eng may be nil, for a plan made on a host without an engine.
func dryRun(ctx context.Context, eng Engine, opts Options) (*Result, error) {
	a := opts.Answers
	l := Layout{Dir: opts.Dir}
	res := &Result{Plan: &Plan{Engine: eng != nil, Action: "created"}}

	var existing *dockerctl.Container
	imageID := ""
	if eng != nil {
		var err error
		if existing, err = ownContainer(ctx, eng, a.Name, opts.Dir); err != nil {
			return nil, err
		}
		if err := step(opts.Out, "port "+strconv.Itoa(a.Port)+" free", func() error {
			return checkPort(ctx, eng, a.Port, existing)
		}); err != nil {
			return nil, err
		}
		imageID, err = eng.ImageID(ctx, a.Image)
		switch {
		case errors.Is(err, dockerctl.ErrNotFound):
			res.Plan.ImageMissing = true
			imageID = ""
		case err != nil:
			return nil, err
		}
	}

	// A registry reads the files of a live setup (a container of it
	// exists, or its users do): a dry run must not change them, not even
	// with --force. Its plan is written in a copy beside them instead.
	if existing != nil || fileExists(l.Htpasswd()) {
		stage, err := stageSetup(opts.Dir)
		if err != nil {
			return nil, err
		}
		opts.Dir, l = stage, Layout{Dir: stage}
		res.Plan.Staged = stage
	}
	if _, err := keepCert(l, opts); err != nil {
		return nil, err
	}
	var err error
	if res.Generated, err = writeFiles(ctx, l, opts); err != nil {
		return nil, err
	}

	spec, err := containerSpec(l, a, imageID)
	if err != nil {
		return nil, err
	}
	img := imageChoice{Ref: a.Image, ID: imageID}
	if eng != nil && !res.Plan.ImageMissing {
		// The image's user and the engine's SELinux setting shape the
		// command and the files' owner, as in a real run; loading an
		// --image-archive or pulling is left to the real run.
		if img.Config, err = eng.ImageConfig(ctx, a.Image); err != nil {
			return nil, err
		}
		if f, ok := eng.(engineFacts); ok {
			if img.Engine, err = f.Engine(ctx); err != nil {
				return nil, err
			}
		}
	}
	applyImage(&spec, img)
	if eng != nil && !res.Plan.ImageMissing {
		if err := handToImageUser(spec, img, defaultChown, opts.Out); err != nil {
			return nil, err
		}
	}
	if existing != nil {
		res.Plan.Action = "replaced"
		if existing.Labels[LabelSpec] == spec.Labels[LabelSpec] {
			res.Plan.Action = "unchanged"
		}
	}
	res.Plan.Spec = spec
	if res.Plan.DockerRun, err = render.DockerRun(spec); err != nil {
		return nil, err
	}
	// A dry run pulls nothing, so the image the registry was pinned to
	// stays recorded until a real run or an upgrade changes it.
	if saved, ok, _ := config.LoadIfExists(opts.Dir); ok && saved.Image == a.Image {
		a.ImageID = saved.ImageID
	}
	// Saved, so that `paxsetup init --yes` later starts exactly this plan.
	if err := config.Save(opts.Dir, a); err != nil {
		return nil, err
	}
	res.Palette = PaletteFor(opts.Dir, a, res.Generated)
	return res, nil
}

// writeModeFiles writes what the mode needs besides the users: the
// certificates (made, or the operator's installed) and the registry config
// file, each as a step of its own.
func writeModeFiles(ctx context.Context, l Layout, opts Options) error {
	var err error
	switch opts.Answers.Mode {
	case config.ModeCustom:
		// A joined node's certificate is the one its bundle installed.
		if opts.Answers.Node == nil {
			err = step(opts.Out, "your certificate in certs/", func() error { return installCustomCerts(l, opts) })
		}
	case config.ModeSelfSigned:
		err = step(opts.Out, "certificates in certs/", func() error { return ensureCerts(ctx, l, opts) })
	case config.ModeLetsEncrypt:
		if opts.Answers.ACMECAFile != "" || opts.Answers.CAFile != "" {
			err = step(opts.Out, "private ACME CA files in config/ and certs/", func() error { return installACMEFiles(l, opts) })
		} else {
			err = installACMEFiles(l, opts)
		}
	}
	if err != nil {
		return err
	}
	switch opts.Answers.Mode {
	case config.ModeCustom, config.ModeSelfSigned:
		if err := writeClientCA(l); err != nil {
			return err
		}
	}
	if render.FromAnswers(opts.Answers).UsesConfigFile() {
		return step(opts.Out, "registry config in config/"+render.ConfigFileName, func() error { return writeRegistryConfig(l, opts) })
	}
	return writeRegistryConfig(l, opts)
}

// costOf is the bcrypt cost for passwords set in this run.
func costOf(a config.Answers) int {
	if a.BcryptCost == 0 {
		return htpasswd.DefaultCost
	}
	return a.BcryptCost
}

// hasCost reports whether user's hash is at cost, so a changed --bcrypt-cost
// re-hashes a password given again even when it has not changed.
func hasCost(f *htpasswd.File, user string, cost int) bool {
	c, err := f.Cost(user)
	return err == nil && c == cost
}

// stageSetup copies the live files (users, credentials, certificates, the
// registry config, the answers) into DIR/dry-run, afresh, so that a dry run
// plans from the live setup without touching it.
func stageSetup(dir string) (string, error) {
	stage := Layout{Dir: dir}.Staged()
	if err := os.RemoveAll(stage); err != nil {
		return "", fmt.Errorf("clear the previous dry run's %s: %w", stage, err)
	}
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return "", err
	}
	err := walkLive(dir, func(rel string, fi fs.FileInfo) error {
		return copyFile(filepath.Join(dir, rel), filepath.Join(stage, rel), fi)
	})
	if err != nil {
		return "", fmt.Errorf("stage the live files for the dry run: %w", err)
	}
	return stage, nil
}
