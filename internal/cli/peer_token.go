package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/setu-cti/setu/internal/authn"
	"github.com/setu-cti/setu/internal/store"
)

// peerToken makes a peer present a token beside its certificate, or with
// --clear lets the certificate alone authenticate it again. Only the
// token's SHA-256 is stored; the token is printed once, on standard output
// alone so that it can be piped to a file, for the operator to hand to the
// partner, who configures it as the token its node presents to this one.
// The server reads the requirement per request, so it holds at once on
// every instance.
func peerToken(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "peer token", "NAME [--clear]")
	var sf storeFlags
	sf.register(fs, e)
	remove := fs.Bool("clear", false, "stop requiring a token: the peer's certificate alone authenticates it")
	name, code, ok := oneArg(fs, args)
	if !ok {
		return code
	}
	return withFederation(ctx, e, &sf, func(db fedDB) error {
		p, err := db.Peer(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no peer named %s", name)
		}
		if err != nil {
			return err
		}
		if *remove {
			if p.InboundTokenSHA256 == nil {
				fmt.Fprintf(e.stdout, "peer %s is not required to present a token\n", name)
				return nil
			}
			if err := db.SetPeerInboundToken(ctx, name, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "peer %s is no longer required to present a token: its certificate alone authenticates it\n", name)
			return logAdmin(ctx, db, "peer.token.clear", "peer:"+name)
		}
		secret, sum, err := authn.NewPeerToken()
		if err != nil {
			return err
		}
		if err := db.SetPeerInboundToken(ctx, name, sum); err != nil {
			return err
		}
		if p.InboundTokenSHA256 != nil {
			fmt.Fprintf(e.stderr, "the token required of %s until now no longer works\n", name)
		}
		fmt.Fprintf(e.stderr, "peer %s must now present the token below beside its certificate; it is shown only once.\n"+
			"Hand it to the operator of %s out of band, to configure as the token their node presents to this one\n"+
			"(`setu peer add ... --token-file FILE` on their node).\n", name, name)
		fmt.Fprintln(e.stdout, secret)
		return logAdmin(ctx, db, "peer.token", "peer:"+name)
	})
}
