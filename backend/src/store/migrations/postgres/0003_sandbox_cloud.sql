-- The sandbox cloud (api/sandbox_cloud.c): the API keys it knows (their
-- SHA-256 only, never a key), and the instances and buckets of its tenants.
-- A tenant is a key hash. Deleted objects keep their row (deleted_at set);
-- only live ones are visible through the API.
CREATE TABLE sandbox_keys (
    key_hash   TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE sandbox_instances (
    id             TEXT PRIMARY KEY,
    tenant         TEXT NOT NULL REFERENCES sandbox_keys(key_hash),
    name           TEXT NOT NULL,
    region         TEXT NOT NULL,
    size           TEXT NOT NULL,
    ssh_public_key TEXT NOT NULL,
    allowed_cidrs  TEXT NOT NULL,
    tags           TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX sandbox_instances_tenant ON sandbox_instances(tenant, id);

CREATE TABLE sandbox_buckets (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL REFERENCES sandbox_keys(key_hash),
    name       TEXT NOT NULL,
    region     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    versioning INTEGER NOT NULL DEFAULT 0,
    public     INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX sandbox_buckets_tenant ON sandbox_buckets(tenant, id);
-- Bucket names are global among live buckets, as in real object stores.
CREATE UNIQUE INDEX sandbox_buckets_live_name ON sandbox_buckets(name) WHERE deleted_at IS NULL;
