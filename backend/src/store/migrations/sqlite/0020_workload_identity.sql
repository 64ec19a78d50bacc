-- Workload identity (engine/identity.h): an account of kind workload_identity
-- holds no secret (key_id, nonce and ciphertext stay empty), only what the
-- run assumes with a token the platform mints: identity, a JSON object of the
-- catalog's fields for the cloud (role ARN; tenant and client; provider and
-- service account), and the token's audience (NULL: the cloud's default).
ALTER TABLE cloud_accounts ADD COLUMN kind TEXT NOT NULL DEFAULT 'credentials'
    CHECK (kind IN ('credentials', 'workload_identity'));
ALTER TABLE cloud_accounts ADD COLUMN identity TEXT;
ALTER TABLE cloud_accounts ADD COLUMN audience TEXT;
