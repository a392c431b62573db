-- Policy metadata on versions and the audience index behind a reader's page.
--
-- The metadata is fixed when a version is first stored and never changes,
-- so it lives on the version row. ADD COLUMN places it after body: adding
-- columns this way is instant on a large store, whereas putting them before
-- body means copying every body. The price is that a manifest read of a body
-- too large for one page (about 4 KB) follows that body's overflow pages to
-- reach them. Versions stored before this migration get no submitter, no
-- facts and no audience keys, so audience-filtered reads do not see them
-- until the write path records their keys.
ALTER TABLE versions ADD COLUMN submitter TEXT NOT NULL DEFAULT '';
ALTER TABLE versions ADD COLUMN facts BLOB;        -- NULL when the version has none
-- The version's audience keys, a JSON array of distinct sorted strings (NULL:
-- none). A version listed in another collection later gets its audience
-- rows from here, so every collection sees the audience of the first store.
ALTER TABLE versions ADD COLUMN audience TEXT;

-- One row per collection row and audience key of its version. Clustered by
-- (collection, key, seq): a reader's rows after a cursor are one range per
-- key, already in seq order, so a page merges its keys' ranges and stops
-- after limit+1 matching rows; what it reads follows the rows the reader
-- may see, not the size of the collection. Rows of one key are appended at
-- the end of that key's range, so inserts touch few pages. There is no
-- foreign key to collection_rows: it would cost a lookup on every insert and
-- make each row delete search this table; the writers keep the two in step.
CREATE TABLE audience (
	collection INTEGER NOT NULL,
	key        TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (collection, key, seq)
) WITHOUT ROWID;
