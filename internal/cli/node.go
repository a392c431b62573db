package cli

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/setu-cti/setu/internal/federation"
	"github.com/setu-cti/setu/internal/httpserver"
	"github.com/setu-cti/setu/internal/store"
)

func init() {
	register("node", "this node's federation identity: init, show", runNode)
}

func runNode(ctx context.Context, e *env, args []string) int {
	return subcommands(ctx, e, "node", args, map[string]func(context.Context, *env, []string) int{
		"init": nodeInit,
		"show": nodeShow,
	})
}

// fedDB is a node store that also keeps federation records.
type fedDB interface {
	nodeDB
	store.Peers
	store.Origins
}

// withFederation opens the store and runs f with it; errors are printed.
func withFederation(ctx context.Context, e *env, sf *storeFlags, f func(fedDB) error) int {
	return withAccounts(ctx, e, sf, func(db nodeDB) error {
		fdb, ok := db.(fedDB)
		if !ok {
			return errors.New("this store does not support federation")
		}
		return f(fdb)
	})
}

// nodeCertificate is the certificate the server presents by default,
// created once in the store; federation uses the same one for mutual TLS in
// both directions, so partners pin one fingerprint.
func nodeCertificate(ctx context.Context, db fedDB) (tls.Certificate, error) {
	cert, _, err := httpserver.NodeCertificate(ctx, db, "", "", time.Now())
	return cert, err
}

// loadNode returns this node's federation identity.
func loadNode(ctx context.Context, db fedDB) (*federation.Node, error) {
	cert, err := nodeCertificate(ctx, db)
	if err != nil {
		return nil, err
	}
	return federation.Load(ctx, db, cert, rand.Reader)
}

func nodeInit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "node init", "--name NAME --country CC")
	var sf storeFlags
	sf.register(fs, e)
	name := fs.String("name", "", "the `name` partner nodes know this node by (e.g. IN-CERT)")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 country `code` (e.g. IN); cannot change once set")
	pub := publicURLFlag(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 || *name == "" || *country == "" {
		fs.Usage()
		return 2
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		before, err := db.NodeInfo(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		cert, err := nodeCertificate(ctx, db)
		if err != nil {
			return err
		}
		n, err := federation.Init(ctx, db, *name, *country, cert, rand.Reader)
		if err != nil {
			return err
		}
		if before.Name != "" && before.Name != n.Name {
			fmt.Fprintf(e.stderr, "setu: node renamed from %s to %s: partners must update their peer record, and provenance this node signed as %s keeps that name\n",
				before.Name, n.Name, before.Name)
		}
		u, err := publicURL(*pub)
		if err != nil {
			return err
		}
		printNode(e.stdout, n, u)
		return logAdmin(ctx, db, "node.init", "node:"+n.Name)
	})
}

func nodeShow(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "node show", "[--cert] [--url URL]")
	var sf storeFlags
	sf.register(fs, e)
	certOnly := fs.Bool("cert", false, "print only the node certificate (PEM), to hand to partners")
	pub := publicURLFlag(fs, e)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	u, err := publicURL(*pub)
	if err != nil {
		errorf(e, "--url: %v", err)
		return 2
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		n, err := loadNode(ctx, db)
		if err != nil {
			return err
		}
		if *certOnly {
			_, err := e.stdout.Write(n.CertificatePEM())
			return err
		}
		printNode(e.stdout, n, u)
		return nil
	})
}

// publicURLFlag registers --url: the URL partners reach this node's
// server at. By default it is built from the address `serve` listens on
// (SETU_ADDR, else serve's default).
func publicURLFlag(fs *flag.FlagSet, e *env) *string {
	def := "https://" + envOr(e, "SETU_ADDR", "127.0.0.1:8443") + "/"
	return fs.String("url", def, "the `URL` partners reach this node's server at, to print for them")
}

// publicURL is the URL to give partners: the server's root, which needs no
// knowledge of API root paths. A listening address that names no host
// (":8443", "0.0.0.0:8443") is shown with HOST in its place.
func publicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an https://HOST:PORT/ URL", s)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, port = u.Host, ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "HOST"
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	u.Host = host
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// printNode prints what partners need, to exchange out of band; u is the
// URL they reach this node at.
func printNode(w io.Writer, n *federation.Node, u string) {
	fmt.Fprintf(w, "name:                %s\n", n.Name)
	fmt.Fprintf(w, "country:             %s\n", n.Country)
	fmt.Fprintf(w, "certificate SHA-256: %s\n", n.CertFingerprint())
	fmt.Fprintf(w, "certificate expires: %s\n", n.Leaf().NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "signing key:         %s\n", federation.EncodeSigningKey(n.PublicKey()))
	fmt.Fprintf(w, "signing key SHA-256: %s\n", n.KeyFingerprint())
	fmt.Fprintf(w, "TAXII URL:           %s\n", u)
	fmt.Fprintf(w, "\nThe TAXII URL is the server's root, as `setu serve --addr` listens (give partners the name and port\n"+
		"they reach it by: --url); its discovery URL (%staxii2/) and API root (%sapi/) work as well.\n", u, u)
	fmt.Fprintf(w, "Partners add this node with:\n  setu peer add %s --url %s --fingerprint %s --signing-key %s --country %s\n",
		n.Name, u, n.CertFingerprint(), federation.EncodeSigningKey(n.PublicKey()), n.Country)
}
