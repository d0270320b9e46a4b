package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/render"
	"github.com/paxsetup/paxsetup/internal/verify"
)

// stopTimeout is how long the registry gets to finish uploads in flight
// before it is killed.
const stopTimeout = 10 * time.Second

// LabelImage records the image reference a container was made for: when the
// saved image ID pins an older image than the tag now names, the container
// is created from the ID, and this label keeps the name for `status`.
const LabelImage = "io.paxsetup.image"

// crashLogLines is how many of a failed registry's last log lines are shown.
const crashLogLines = 20

// ErrImageMoved means the saved image ID is gone from the engine while the
// tag names another image: moving to it is an upgrade, made on purpose.
var ErrImageMoved = errors.New("the recorded registry image is gone")

// imageChoice is the image a run uses and what it says about itself.
type imageChoice struct {
	// Ref is what the container is created from: the answers' image, or
	// the saved image ID when that pins an older image than the tag.
	Ref string
	// ID is the image's ID, recorded in paxsetup.yaml.
	ID     string
	Config dockerctl.ImageConfig
	Engine dockerctl.EngineInfo
}

// ensureImage makes the run's image present: loaded from --image-archive
// when the engine lacks it (or on an upgrade), else pulled per --pull. A
// re-run keeps the image the registry was set up with even if its tag has
// moved since, because replacing the registry's image is an upgrade and
// must be asked for (`paxsetup upgrade`, or `init --image` naming another
// image).
func ensureImage(ctx context.Context, eng Engine, opts Options) (imageChoice, error) {
	a := opts.Answers
	out := opts.Out
	// Asked at once and collected at the end: Podman takes seconds to
	// describe itself, time a pull or load can hide.
	type factsResult struct {
		info dockerctl.EngineInfo
		err  error
	}
	facts := make(chan factsResult, 1)
	if f, ok := eng.(engineFacts); ok {
		go func() {
			info, err := f.Engine(ctx)
			facts <- factsResult{info, err}
		}()
	} else {
		facts <- factsResult{}
	}
	policy, _ := dockerctl.ParsePullPolicy(a.Pull)
	if a.ImageArchive != "" {
		present, err := eng.ImageExists(ctx, a.Image)
		if err != nil {
			return imageChoice{}, err
		}
		if !present || opts.Upgrade {
			if err := step(out, "image "+a.Image+" from "+a.ImageArchive, func() error {
				return eng.LoadImageArchive(ctx, a.ImageArchive, a.Image, out)
			}); err != nil {
				return imageChoice{}, err
			}
		} else {
			fmt.Fprintf(out, "note %s is present: %s not loaded again (`paxsetup upgrade --image-archive FILE` loads it)\n", a.Image, a.ImageArchive)
		}
		// An archive is how air-gapped sites get images: never reach out.
		policy = dockerctl.PullNever
	}
	if err := step(out, "image "+a.Image, func() error {
		return eng.EnsureImage(ctx, a.Image, policy, out)
	}); err != nil {
		return imageChoice{}, err
	}
	id, err := eng.ImageID(ctx, a.Image)
	if err != nil {
		return imageChoice{}, err
	}
	choice := imageChoice{Ref: a.Image, ID: id}

	if saved, ok, _ := config.LoadIfExists(opts.Dir); ok && !opts.Upgrade &&
		saved.Image == a.Image && saved.ImageID != "" && saved.ImageID != id {
		if _, err := eng.ImageID(ctx, saved.ImageID); err != nil {
			if !errors.Is(err, dockerctl.ErrNotFound) {
				return imageChoice{}, err
			}
			return imageChoice{}, fmt.Errorf("%w: %s was recorded as %s, which the engine no longer holds, and now names %s: "+
				"run `paxsetup upgrade` to move the registry to it", ErrImageMoved, a.Image, short(saved.ImageID), short(id))
		}
		fmt.Fprintf(out, "note %s now names %s; the registry keeps %s: run `paxsetup upgrade` to move to the new image\n",
			a.Image, short(id), short(saved.ImageID))
		choice.Ref, choice.ID = saved.ImageID, saved.ImageID
	}

	if choice.Config, err = eng.ImageConfig(ctx, choice.Ref); err != nil {
		return imageChoice{}, err
	}
	fr := <-facts
	if fr.err != nil {
		return imageChoice{}, fr.err
	}
	choice.Engine = fr.info
	if p := choice.Config.TCPPort(); p != 0 && p != render.ContainerPort {
		fmt.Fprintf(out, "warn the image exposes port %d, but the registry's config listens on %d: check the image's documentation\n", p, render.ContainerPort)
	}
	return choice, nil
}

// engineFacts is the engine's description, which *dockerctl.Client gives.
// It is not part of Engine, whose fakes embed an interface named Engine.
type engineFacts interface {
	Engine(ctx context.Context) (dockerctl.EngineInfo, error)
}

// short is an image ID as `docker images` shows it.
func short(id string) string {
	s := strings.TrimPrefix(id, "sha256:")
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

// applyImage fits the container to its image and engine: created from the
// pinned image when there is one, relabelled on an SELinux host, and named
// by its reference for `status`.
func applyImage(spec *dockerctl.Spec, img imageChoice) {
	spec.Labels[LabelImage] = spec.Image
	spec.Image = img.Ref
	spec.Relabel = img.Engine.SELinux
}

// chownFunc changes a file's owner without following symlinks; tests replace
// it to act as a host that refuses.
type chownFunc func(path string, uid, gid int) error

// handToImageUser gives the files the registry mounts to the image's user
// when that is not root, so it can read its key and htpasswd (kept 0600) and
// write data/. The CA key stays root's: the registry has no use for it. A
// user given by name, or an engine that maps users (rootless), cannot be
// resolved to a host uid here; those are warned about, not guessed.
func handToImageUser(spec dockerctl.Spec, img imageChoice, chown chownFunc, out io.Writer) error {
	u := dockerctl.ParseImageUser(img.Config.User)
	switch {
	case u.Root:
		return nil
	case !u.Numeric:
		fmt.Fprintf(out, "warn the image runs as user %q, which paxsetup cannot map to a host uid: if the registry cannot read its files, give them to that user (chown) and re-run\n", u.Name)
		return nil
	case img.Engine.Rootless:
		fmt.Fprintf(out, "warn the image runs as uid %d, which a rootless engine maps to a subordinate uid of the host: if the registry cannot read its files, "+
			"give them to that uid inside the engine's user namespace (Podman: podman unshare chown -R %d DIR) or use an image that runs as root\n", u.UID, u.UID)
		return nil
	}
	return step(out, "files for the image's user (uid "+strconv.Itoa(u.UID)+")", func() error {
		for _, m := range spec.Mounts {
			if err := chownTree(m.Source, u.UID, u.GID, chown); err != nil {
				return err
			}
		}
		return nil
	})
}

// chownTree gives root's tree to uid (and gid, unless -1), skipping what is
// already theirs and the CA key.
func chownTree(root string, uid, gid int, chown chownFunc) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "ca.key" {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if owner, group, ok := fsutil.Owner(fi); ok && owner == uid && (gid < 0 || group == gid) {
			return nil
		}
		if err := chown(path, uid, gid); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("give %s to uid %d, the user the image runs as: %w: run paxsetup as root (sudo), or chown -R %d %s yourself and re-run", path, uid, err, uid, root)
			}
			return fmt.Errorf("give %s to uid %d, the user the image runs as: %w", path, uid, err)
		}
		return nil
	})
}

// defaultChown is the host's chown.
var defaultChown chownFunc = os.Lchown

// runContainer makes the registry run with spec: it leaves an identical
// running container alone, starts a stopped one, and replaces a different one
// only once the new one answers; if the new one fails, the old one is put
// back and started again. A replacement is journaled in dir (JournalFile),
// so that a run killed halfway is undone by the next one, and its engine
// calls ignore the operator's Ctrl-C: only the wait for the new registry
// can be interrupted, and that puts the old one back. healthy, when set, is
// called once the registry the run leaves in place, kept or new, answers
// /health (never a previous one restored after a failure).
func runContainer(ctx context.Context, eng Engine, spec dockerctl.Spec, old *dockerctl.Container, vopts verify.Options, dir string, prev *previous, healthy func()) (id, action string, rep verify.Report, err error) {
	if old != nil && old.Labels[LabelSpec] == spec.Labels[LabelSpec] {
		action = "unchanged"
		if !old.Running {
			if err := eng.Start(ctx, old.ID); err != nil {
				return old.ID, "", rep, fmt.Errorf("start container %q: %w", spec.Name, err)
			}
			action = "started"
		}
		rep, err = waitReady(ctx, eng, old.ID, vopts, old.RestartCount, healthy)
		return old.ID, action, rep, err
	}

	if old == nil {
		id, rep, err = startNew(ctx, eng, spec, vopts, healthy)
		if err != nil {
			if rerr := prev.restore(); rerr != nil {
				return "", "", rep, fmt.Errorf("%w; and putting the previous files back failed: %v", err, rerr)
			}
			return "", "", rep, err
		}
		return id, "created", rep, nil
	}

	// The new container needs the old one's port and name, so the old one is
	// stopped and set aside, not removed, until the new one has proved itself.
	aside := fmt.Sprintf("%s-previous-%d", spec.Name, time.Now().Unix())
	j := &swapJournal{path: journalPath(dir), Name: spec.Name, Old: old.ID, OldRunning: old.Running, Aside: aside,
		Started: time.Now(), PID: os.Getpid(), Image: spec.Image, Spec: spec.Labels[LabelSpec], Previous: prev != nil}
	if err := j.save(swapStopping); err != nil {
		return "", "", rep, err
	}
	undo := func(cause error) error {
		if rerr := j.rollback(ctx, eng); rerr != nil {
			return fmt.Errorf("%w; and restoring the previous registry failed: %v (it is the container %q: the next paxsetup init tries again, or rename it to %s and start it)", cause, rerr, aside, spec.Name)
		}
		prev.restoredElsewhere()
		return cause
	}
	if old.Running {
		if err := call(ctx, func(c context.Context) error { return eng.Stop(c, old.ID, stopTimeout) }); err != nil {
			return "", "", rep, undo(fmt.Errorf("stop the running registry %q: %w", spec.Name, err))
		}
	}
	if err := call(ctx, func(c context.Context) error { return eng.Rename(c, old.ID, aside) }); err != nil {
		return "", "", rep, undo(fmt.Errorf("set aside the running registry %q: %w", spec.Name, err))
	}
	if err := j.save(swapAside); err != nil {
		return "", "", rep, undo(err)
	}
	if err := call(ctx, func(c context.Context) (err error) { id, err = eng.Create(c, spec); return err }); err != nil {
		return "", "", rep, undo(err)
	}
	j.New = id
	if err := j.save(swapCreated); err != nil {
		return "", "", rep, undo(err)
	}
	if err := call(ctx, func(c context.Context) error { return eng.Start(c, id) }); err != nil {
		return "", "", rep, undo(startError(spec.Name, err))
	}
	rep, err = waitReady(ctx, eng, id, vopts, 0, healthy)
	if err != nil {
		if rerr := j.rollback(ctx, eng); rerr != nil {
			return "", "", rep, fmt.Errorf("%w; and restoring the previous registry failed: %v (it is the container %q: the next paxsetup init tries again, or rename it to %s and start it)", err, rerr, aside, spec.Name)
		}
		prev.restoredElsewhere()
		// Restored means serving again, so it is waited for, unless the
		// operator interrupted the run and wants it over.
		if old.Running && ctx.Err() == nil {
			if _, werr := waitReady(context.WithoutCancel(ctx), eng, old.ID, restoredVerifyOptions(dir, vopts), old.RestartCount, nil); werr != nil {
				return "", "", rep, fmt.Errorf("the new registry failed and was removed; the previous registry was restored but does not answer (%v): %w", werr, err)
			}
		}
		return "", "", rep, fmt.Errorf("the new registry failed and was removed; the previous registry was restored and answers again: %w", err)
	}
	if err := j.save(swapVerified); err != nil {
		return id, "replaced", rep, err
	}
	// The new files are the setup now; only then does the old registry go.
	if err := prev.discard(); err != nil {
		return id, "replaced", rep, err
	}
	if err := j.finish(ctx, eng); err != nil {
		return id, "replaced", rep, err
	}
	return id, "replaced", rep, nil
}

// restoredVerifyOptions checks the previous registry as its own files
// describe it: the run's options may trust a CA the run brought (a new
// --ca-file) that the previous registry's certificate does not chain to.
func restoredVerifyOptions(dir string, vopts verify.Options) verify.Options {
	a, err := config.Load(dir)
	if err != nil {
		return vopts
	}
	v, err := VerifyOptions(dir, a)
	if err != nil {
		return vopts
	}
	v.Timeout, v.User, v.Password, v.Now = vopts.Timeout, vopts.User, vopts.Password, vopts.Now
	return v
}

func restart(ctx context.Context, eng Engine, old *dockerctl.Container) {
	if old.Running {
		_ = eng.Start(ctx, old.ID)
	}
}

// startNew creates and starts a container and waits until it serves; a
// container that never serves is removed, so a failed or interrupted run
// leaves none behind.
func startNew(ctx context.Context, eng Engine, spec dockerctl.Spec, vopts verify.Options, healthy func()) (string, verify.Report, error) {
	if err := ctx.Err(); err != nil {
		return "", verify.Report{}, err
	}
	// The create is awaited even when the operator interrupts the run: the
	// engine carries out a create whose client has gone, and the container
	// it made would be left behind, unknown to the run. The engine's errors
	// already say "create container NAME" and "start container ID".
	var id string
	if err := call(ctx, func(c context.Context) (err error) { id, err = eng.Create(c, spec); return err }); err != nil {
		return "", verify.Report{}, err
	}
	bg := context.WithoutCancel(ctx)
	if err := ctx.Err(); err != nil {
		_ = eng.Remove(bg, id)
		return "", verify.Report{}, err
	}
	if err := eng.Start(ctx, id); err != nil {
		_ = eng.Remove(bg, id)
		return "", verify.Report{}, startError(spec.Name, err)
	}
	rep, err := waitReady(ctx, eng, id, vopts, 0, healthy)
	if err != nil {
		_ = eng.Remove(bg, id)
		return "", rep, err
	}
	return id, rep, nil
}

// startError says why the engine could not start the registry, with the
// known causes and their fixes.
func startError(name string, err error) error {
	var b strings.Builder
	for _, d := range dockerctl.Diagnose(dockerctl.Container{Error: err.Error()}, "") {
		fmt.Fprintf(&b, "\n  cause: %s\n  fix:   %s", d.Cause, d.Fix)
	}
	return fmt.Errorf("registry container %q: %w%s", name, err, b.String())
}
