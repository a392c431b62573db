package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("agreement", "sharing agreements with peers: apply, show, export, verify", runAgreement)
}

func runAgreement(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "agreement", args, map[string]func(context.Context, *env, []string) int{
		"apply":  agreementApply,
		"show":   agreementShow,
		"export": agreementExport,
		"verify": agreementVerify,
	})
}

// readInput reads a named file, or standard input for "-".
func readInput(e *env, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(name)
}

func agreementApply(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "agreement apply", "FILE (- for standard input)")
	var sf storeFlags
	sf.register(fs, e)
	file, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	data, err := readInput(e, file)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	a, err := federation.ParseAgreement(data)
	if err != nil {
		errorf(e, "%s:\n%v", file, err)
		return 1
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		if err := a.Check(ctx, db); err != nil {
			return fmt.Errorf("%s:\n%w", file, err)
		}
		prev, err := db.Agreement(ctx, a.Peer)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		changed, err := db.PutAgreement(ctx, a.Record(time.Now()))
		switch {
		case errors.Is(err, store.ErrConflict):
			if a.Version <= prev.Version {
				return fmt.Errorf("agreement with %s: version %d is in force and this file, version %d, differs from what was applied under that number; raise the version to %d to apply a change",
					a.Peer, prev.Version, a.Version, prev.Version+1)
			}
			return err
		case err != nil:
			return err
		case !changed && a.Version == prev.Version:
			fmt.Fprintf(e.stdout, "agreement with %s: version %d is already in force; nothing changed\n", a.Peer, a.Version)
			return nil
		case !changed:
			fmt.Fprintf(e.stdout, "agreement with %s: version %d was applied before and is superseded by version %d; nothing changed\n",
				a.Peer, a.Version, prev.Version)
			return nil
		case prev.Version > 0:
			fmt.Fprintf(e.stdout, "agreement with %s: version %d applied (was version %d)\n", a.Peer, a.Version, prev.Version)
		default:
			fmt.Fprintf(e.stdout, "agreement with %s: version %d applied\n", a.Peer, a.Version)
		}
		return logAdmin(ctx, db, "agreement.apply", "peer:"+a.Peer, fmt.Sprintf("agreement:%s:%d:sha256:%x", a.Peer, a.Version, a.Hash()))
	})
}

func agreementShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "agreement show", "PEER [--version N | --history]")
	var sf storeFlags
	sf.register(fs, e)
	version := fs.Int64("version", 0, "show this `version` instead of the one in force")
	history := fs.Bool("history", false, "list every version applied")
	peer, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		if *history || *version != 0 {
			hist, err := db.AgreementHistory(ctx, peer)
			if err != nil {
				return fmt.Errorf("agreements with %s: %w", peer, err)
			}
			if *history {
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tAPPLIED\tSHA-256\tSTATE")
				for i, rec := range hist {
					current := "superseded"
					if i == len(hist)-1 {
						current = "in force"
					}
					fmt.Fprintf(tw, "%d\t%s\t%x\t%s\n", rec.Version, rec.Applied.Format(time.RFC3339), rec.Hash, current)
				}
				return tw.Flush()
			}
			for _, rec := range hist {
				if rec.Version == *version {
					return showAgreement(e, rec)
				}
			}
			return fmt.Errorf("agreement with %s: no version %d was applied", peer, *version)
		}
		rec, err := db.Agreement(ctx, peer)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no agreement with %s has been applied", peer)
		}
		if err != nil {
			return err
		}
		return showAgreement(e, rec)
	})
}

func showAgreement(e *env, rec store.Agreement) error {
	a, err := federation.ParseAgreement(rec.Body)
	if err != nil {
		return fmt.Errorf("the stored agreement with %s, version %d, cannot be read: %w", rec.Peer, rec.Version, err)
	}
	_, err = e.stdout.Write(a.Indent())
	return err
}

func agreementExport(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "agreement export", "PEER [--out FILE]")
	var sf storeFlags
	sf.register(fs, e)
	out := fs.String("out", "", "write to `file` instead of standard output")
	peer, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		n, err := loadNode(ctx, db)
		if err != nil {
			return err
		}
		rec, err := db.Agreement(ctx, peer)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no agreement with %s has been applied", peer)
		}
		if err != nil {
			return err
		}
		a, err := federation.ParseAgreement(rec.Body)
		if err != nil {
			return err
		}
		signed, err := a.Export(n)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = e.stdout.Write(signed)
			return err
		}
		if err := os.WriteFile(*out, signed, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "agreement with %s, version %d, signed by %s, written to %s\n", peer, a.Version, n.Name, *out)
		return nil
	})
}

func agreementVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "agreement verify", "FILE --peer NAME [--trust-key SHA256]")
	var sf storeFlags
	sf.register(fs, e)
	peerName := fs.String("peer", "", "the peer that signed the agreement")
	trust := fs.String("trust-key", "", "the SHA-256 `fingerprint` of the peer's signing key, exchanged out of band; learns the key when none is known")
	file, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	if *peerName == "" {
		errorf(e, "agreement verify: --peer is required")
		return 2
	}
	data, err := readInput(e, file)
	if err != nil {
		errorf(e, "%v", err)
		return 1
	}
	doc, a, err := federation.ReadSigned(data)
	if err != nil {
		errorf(e, "%s:\n%v", file, err)
		return 1
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		p, err := db.Peer(ctx, *peerName)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no peer named %s; add it first with `setu peer add`", *peerName)
		}
		if err != nil {
			return err
		}
		learn := false
		key := p.SigningKey
		stated, err := doc.Key()
		if err != nil {
			return err
		}
		switch {
		case key != nil:
			if *trust != "" {
				if fp, err := federation.ParseFingerprint(*trust); err != nil {
					return err
				} else if fp != federation.FingerprintOf(key) {
					return fmt.Errorf("--trust-key %s is not the signing key already known for %s (%s)", fp, p.Name, federation.FingerprintOf(key))
				}
			}
		case *trust == "":
			return fmt.Errorf("no signing key is known for %s. The document states a key with SHA-256 %s: compare it with the fingerprint %s gave you out of band, then pass it with --trust-key",
				p.Name, federation.FingerprintOf(stated), p.Name)
		default:
			fp, err := federation.ParseFingerprint(*trust)
			if err != nil {
				return err
			}
			if fp != federation.FingerprintOf(stated) {
				return fmt.Errorf("the document's signing key has SHA-256 %s, not %s: it was not signed by the key you were given for %s",
					federation.FingerprintOf(stated), fp, p.Name)
			}
			key, learn = stated, true
		}
		if err := doc.Verify(key); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "signature valid: agreement version %d for peer %s, signed by %s (%s), key SHA-256 %s\n",
			a.Version, a.Peer, p.Name, doc.Signer.Country, federation.FingerprintOf(key))
		if doc.Signer.Node != p.Name {
			fmt.Fprintf(e.stdout, "note: the signer calls itself %s; this node knows it as %s\n", doc.Signer.Node, p.Name)
		}
		if self, err := db.NodeInfo(ctx); err == nil && a.Peer != self.Name {
			fmt.Fprintf(e.stdout, "note: the agreement is with %s; this node is %s\n", a.Peer, self.Name)
		}
		fmt.Fprintf(e.stdout, "terms: max_tlp %s, mode %s, schedule %s, anonymise_submitters %s\n",
			a.MaxTLP, a.Mode, federation.FormatInterval(a.Schedule), strconv.FormatBool(a.AnonymiseSubmitters))
		if !learn {
			return nil
		}
		p.SigningKey = key
		if err := db.UpdatePeer(ctx, p); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "learned the signing key of %s\n", p.Name)
		return logAdmin(ctx, db, "peer.key", "peer:"+p.Name)
	})
}
