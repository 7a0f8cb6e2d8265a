import Foundation

/// The PostgreSQL catalog's schema: named migrations applied in order, each once, recorded in
/// `strongroom_migrations` (docs/storage-postgres.md). The first is the SQLite catalog's schema
/// as its own migrations leave it, in PostgreSQL's types (INTEGER as BIGINT, BLOB as BYTEA);
/// later changes are added to both engines, never by editing a migration already released.
enum PostgresSchema {
    static let migrations: [(name: String, sql: String)] = [
        ("v1-catalog", catalog),
        ("v2-sign-in-state", signInState),
    ]

    /// What one process keeps in memory on the embedded store, shared here by every node: a
    /// passkey ceremony begun on one node finishes on another, and wrong guesses count the
    /// same wherever they are sent (PostgresCatalog+SignInState.swift).
    static let signInState = """
        CREATE TABLE sign_in_challenges (
            context TEXT PRIMARY KEY NOT NULL, challenge BYTEA NOT NULL, expires_ms BIGINT NOT NULL, source TEXT);
        CREATE INDEX sign_in_challenges_by_expiry ON sign_in_challenges (expires_ms);
        CREATE INDEX sign_in_challenges_by_source ON sign_in_challenges (source) WHERE source IS NOT NULL;
        CREATE TABLE sign_in_failures (
            key BYTEA PRIMARY KEY NOT NULL, failures BIGINT NOT NULL, last_ms BIGINT NOT NULL,
            pending BIGINT NOT NULL DEFAULT 0, pending_ms BIGINT NOT NULL DEFAULT 0);
        CREATE INDEX sign_in_failures_by_last ON sign_in_failures (GREATEST(last_ms, pending_ms));
        """

    /// Every table of the embedded catalog, plus `records.rowid`: SQLite's implicit row number,
    /// made explicit, which key rotation pages by.
    static let catalog = """
        CREATE TABLE vault (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
        CREATE TABLE records (
            id TEXT PRIMARY KEY NOT NULL, rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            school TEXT NOT NULL, child TEXT NOT NULL, concern TEXT NOT NULL, kind TEXT NOT NULL,
            filename TEXT NOT NULL, declared_type TEXT, sniffed_type TEXT NOT NULL,
            size BIGINT NOT NULL, sha256 TEXT NOT NULL,
            ciphertext_blake2b TEXT NOT NULL, ciphertext_size BIGINT NOT NULL,
            created_at_ms BIGINT NOT NULL, created_by TEXT NOT NULL,
            kek_id TEXT NOT NULL, wrapped_dek BYTEA NOT NULL, format_version BIGINT NOT NULL, category TEXT NOT NULL DEFAULT 'child-protection', review_on TEXT NOT NULL DEFAULT '', derived_from TEXT, created_by_account TEXT);
        CREATE INDEX records_by_child ON records (school, child, created_at_ms);
        CREATE INDEX records_by_concern ON records (school, concern, created_at_ms);
        CREATE TABLE audit_events (
            seq BIGINT PRIMARY KEY NOT NULL, time_ms BIGINT NOT NULL,
            actor TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
            school TEXT, child TEXT, concern TEXT, record TEXT, reason TEXT,
            prev_hash BYTEA NOT NULL, hash BYTEA NOT NULL);
        CREATE INDEX audit_by_record ON audit_events (record);
        CREATE TABLE audit_head (
            id BIGINT PRIMARY KEY CHECK (id = 1), tree_size BIGINT NOT NULL,
            last_hash BYTEA NOT NULL, frontier BYTEA NOT NULL);
        CREATE TABLE audit_checkpoints (
            tree_size BIGINT PRIMARY KEY NOT NULL, root BYTEA NOT NULL, time_ms BIGINT NOT NULL,
            key_id TEXT NOT NULL, signature BYTEA NOT NULL, frontier BYTEA);
        CREATE INDEX records_by_review ON records (review_on, school);
        CREATE TABLE children (
            school TEXT NOT NULL, child TEXT NOT NULL, dob TEXT NOT NULL, set_at_ms BIGINT NOT NULL,
            set_by TEXT NOT NULL, PRIMARY KEY (school, child));
        CREATE TABLE holds (
            id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, scope TEXT NOT NULL, target TEXT NOT NULL,
            reason TEXT NOT NULL, placed_by TEXT NOT NULL, placed_at_ms BIGINT NOT NULL,
            released_by TEXT, released_at_ms BIGINT, release_reason TEXT, release_requested_by TEXT, release_requested_account TEXT, release_requested_role TEXT, release_requested_at_ms BIGINT, release_request_reason TEXT);
        CREATE INDEX holds_by_target ON holds (school, scope, target);
        CREATE TABLE shred_requests (
            id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, records TEXT NOT NULL, reason TEXT NOT NULL,
            requested_by TEXT NOT NULL, requested_role TEXT NOT NULL, requested_at_ms BIGINT NOT NULL,
            approved_by TEXT, approved_role TEXT, approved_at_ms BIGINT, state TEXT NOT NULL, certificate BYTEA, requested_account TEXT, withdrawn_by TEXT, withdrawn_at_ms BIGINT);
        CREATE TABLE tombstones (
            record TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL,
            category TEXT NOT NULL, created_at_ms BIGINT NOT NULL, sha256 TEXT NOT NULL,
            shredded_at_ms BIGINT NOT NULL, request TEXT NOT NULL, requested_by TEXT NOT NULL,
            approved_by TEXT NOT NULL, reason TEXT NOT NULL, kek_id TEXT NOT NULL, signature BYTEA NOT NULL);
        CREATE INDEX tombstones_by_request ON tombstones (request);
        CREATE TABLE destroyed_keks (id TEXT PRIMARY KEY NOT NULL, destroyed_at_ms BIGINT NOT NULL, reason TEXT NOT NULL);
        CREATE TABLE recipients (
            school TEXT NOT NULL, name TEXT NOT NULL, contact TEXT NOT NULL, age_recipient TEXT,
            created_by TEXT NOT NULL, created_at_ms BIGINT NOT NULL, PRIMARY KEY (school, name));
        CREATE TABLE bundles (
            id TEXT PRIMARY KEY, school TEXT NOT NULL, recipient TEXT NOT NULL, reason TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('draft', 'releasing', 'released', 'returned')), claim TEXT, claimed_at_ms BIGINT,
            created_by TEXT NOT NULL, created_at_ms BIGINT NOT NULL,
            approved_by TEXT, released_at_ms BIGINT,
            sealed_items BYTEA, sealed_kek TEXT,
            archive_sha256 TEXT, archive_size BIGINT,
            link_hash BYTEA UNIQUE, receipt_hash BYTEA UNIQUE, link_expires_ms BIGINT, link_max_downloads BIGINT,
            link_downloads BIGINT NOT NULL DEFAULT 0, link_revoked_ms BIGINT, receipt_at_ms BIGINT,
            returned_by TEXT, returned_at_ms BIGINT, return_comment TEXT);
        CREATE TABLE bundle_items (
            bundle TEXT NOT NULL REFERENCES bundles (id), position BIGINT NOT NULL, record TEXT NOT NULL,
            school TEXT NOT NULL, child TEXT NOT NULL, mode TEXT NOT NULL,
            source TEXT,
            PRIMARY KEY (bundle, position));
        CREATE INDEX bundle_items_child ON bundle_items (school, child);
        CREATE INDEX records_derived_from ON records (derived_from) WHERE derived_from IS NOT NULL;
        CREATE TABLE users (
            id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, schools TEXT NOT NULL,
            token_hash BYTEA NOT NULL UNIQUE, created_at_ms BIGINT NOT NULL, created_by TEXT NOT NULL,
            revoked_at_ms BIGINT, signature BYTEA NOT NULL, signature_format BIGINT NOT NULL);
        CREATE UNIQUE INDEX users_active_name ON users (name) WHERE revoked_at_ms IS NULL;
        CREATE TABLE enrolments (
            token_hash BYTEA PRIMARY KEY, account TEXT NOT NULL, created_at_ms BIGINT NOT NULL,
            expires_at_ms BIGINT NOT NULL, used_at_ms BIGINT, pending_passphrase TEXT, pending_totp BYTEA,
            signature BYTEA NOT NULL);
        CREATE INDEX enrolments_account ON enrolments(account);
        CREATE TABLE sign_in_factors (
            id TEXT PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL, created_at_ms BIGINT NOT NULL,
            secret BYTEA NOT NULL, credential_id BYTEA UNIQUE, counter BIGINT NOT NULL DEFAULT 0, used_at_ms BIGINT,
            signature BYTEA NOT NULL);
        CREATE INDEX sign_in_factors_account ON sign_in_factors(account);
        CREATE TABLE sessions (
            id_hash BYTEA PRIMARY KEY, account TEXT NOT NULL, created_at_ms BIGINT NOT NULL, factor_at_ms BIGINT NOT NULL,
            last_seen_at_ms BIGINT NOT NULL, browser TEXT NOT NULL, address TEXT NOT NULL, signature BYTEA NOT NULL);
        CREATE INDEX sessions_account ON sessions(account);
        CREATE TABLE sign_in_activity (account TEXT PRIMARY KEY, last_sign_in_ms BIGINT NOT NULL);
        CREATE TABLE labels (
            school TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, sealed BYTEA NOT NULL,
            updated_at_ms BIGINT NOT NULL, updated_by TEXT NOT NULL,
            PRIMARY KEY (school, kind, subject));
        CREATE INDEX bundles_school ON bundles (school, created_at_ms);
        CREATE INDEX shred_requests_by_school ON shred_requests (school, requested_at_ms);
        CREATE TABLE role_approvals (
            account TEXT PRIMARY KEY NOT NULL, token_hash BYTEA NOT NULL UNIQUE,
            requested_by TEXT NOT NULL, requested_account TEXT NOT NULL, requested_at_ms BIGINT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
            decided_by TEXT, decided_account TEXT, decided_at_ms BIGINT);
        CREATE INDEX role_approvals_pending ON role_approvals (state, requested_at_ms);
        CREATE TABLE person_emails (account TEXT PRIMARY KEY NOT NULL, address TEXT NOT NULL);
        CREATE TABLE school_directory (
            owner TEXT NOT NULL, school TEXT NOT NULL, name TEXT NOT NULL, age_recipient TEXT NOT NULL,
            signing_key TEXT NOT NULL, fingerprint TEXT NOT NULL, added_by TEXT NOT NULL, added_at_ms BIGINT NOT NULL,
            signature BYTEA NOT NULL, PRIMARY KEY (owner, school));
        CREATE TABLE transfers (
            id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, to_school TEXT NOT NULL,
            to_fingerprint TEXT NOT NULL, reason TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('draft', 'sending', 'sent', 'received')),
            created_by TEXT NOT NULL, created_account TEXT, created_at_ms BIGINT NOT NULL,
            approved_by TEXT, approved_account TEXT, claim TEXT, claimed_at_ms BIGINT, sent_at_ms BIGINT,
            manifest_sha256 TEXT, package_sha256 TEXT, package_size BIGINT, record_count BIGINT,
            link_hash BYTEA UNIQUE, link_expires_ms BIGINT, link_downloads BIGINT NOT NULL DEFAULT 0,
            receipt_at_ms BIGINT, receipt BYTEA, after_receipt TEXT);
        CREATE INDEX transfers_by_child ON transfers (school, child, created_at_ms);
        CREATE TABLE transfer_records (
            transfer TEXT NOT NULL, position BIGINT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (transfer, position));
        CREATE TABLE incoming_transfers (
            id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, from_school TEXT NOT NULL,
            from_name TEXT NOT NULL, transfer TEXT NOT NULL, manifest_sha256 TEXT NOT NULL UNIQUE,
            sent_at_ms BIGINT NOT NULL, received_at_ms BIGINT NOT NULL, received_by TEXT NOT NULL,
            receipt BYTEA NOT NULL, shares BYTEA NOT NULL, receipt_delivered_ms BIGINT,
            UNIQUE (from_school, transfer));
        CREATE INDEX incoming_by_child ON incoming_transfers (school, child, received_at_ms);
        CREATE TABLE transferred_records (
            record TEXT PRIMARY KEY NOT NULL, incoming TEXT NOT NULL, original_id TEXT NOT NULL,
            original_sha256 TEXT NOT NULL, recorded_at_ms BIGINT NOT NULL, recorded_by TEXT NOT NULL);
        CREATE INDEX transferred_by_incoming ON transferred_records (incoming);
        CREATE TABLE transfer_settings (
            school TEXT PRIMARY KEY NOT NULL, name TEXT,
            after_receipt TEXT CHECK (after_receipt IS NULL OR after_receipt IN ('draft-shred', 'keep')));
        -- The key store file and the deletion ledger (PostgresKeyFiles), byte for byte.
        CREATE TABLE key_files (name TEXT PRIMARY KEY NOT NULL, bytes BYTEA, version BIGINT NOT NULL);
        -- Append-only from the application's side, as on SQLite: a database owner can drop the
        -- trigger, and audit verify catches what is then changed.
        CREATE FUNCTION strongroom_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$;
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION strongroom_audit_append_only();
        CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION strongroom_audit_append_only();
        """
}
