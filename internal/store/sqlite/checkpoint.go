package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"sync"
	"time"
)

// checkpointer copies committed WAL frames back into the database file on
// its own connection, so that a Put's commit only appends to the WAL.
//
// Why: once the store is large, each object's id lands on a different page
// of the id index, so a batch dirties about one page per object. Copying
// those pages back (SQLite's automatic checkpoint) then ran inside the
// committing Put and made Puts slower as the store grew. In the background
// it overlaps with the caller's next batch. A passive checkpoint never
// blocks the writer or readers. The writer keeps SQLite's automatic
// checkpoint at a high threshold as a backstop, so the WAL stays bounded
// even if background checkpoints fall behind.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// checkpointEvery is the least time between two background checkpoints.
const checkpointEvery = 500 * time.Millisecond

// walBackstop is the writer's automatic checkpoint threshold, in pages.
const walBackstop = "wal_autocheckpoint(65536)"

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, nil, url.Values{}))
	if err != nil {
		return nil, wrapErr("open", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// notify asks for a checkpoint after a commit; requests made while one
// runs coalesce into one more.
func (c *checkpointer) notify() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
			// A failed checkpoint (the database is busy, or closing) is
			// retried on the next commit, and the backstop bounds the WAL.
			c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
			// A checkpoint copies each page written since the last one
			// once, however often it was written: under a stream of
			// commits, spacing them out saves copying the pages every
			// commit touches (counters, index tails) again and again.
			select {
			case <-c.stop:
				return
			case <-time.After(checkpointEvery):
			}
		}
	}
}

func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
	return c.db.Close()
}
