-- The SHA-256 of the token a partner node must present as a Bearer token
-- beside its certificate; NULL when the certificate alone authenticates it.
-- Only the hash is kept: the operator hands the token over out of band.
ALTER TABLE peers ADD COLUMN inbound_token_sha256 BLOB
	CHECK (inbound_token_sha256 IS NULL OR length(inbound_token_sha256) = 32);
