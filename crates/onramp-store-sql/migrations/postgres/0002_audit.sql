-- The audit log: append-only, beside the records (it does not move the revision). Resource ids
-- of an entry are also rows of audit_resources, so listing by resource uses an index.
CREATE TABLE audit (
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time         BIGINT  NOT NULL,
    account_id   TEXT    NOT NULL,
    key_id       TEXT    NOT NULL,
    dialect      TEXT    NOT NULL,
    operation    TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    resource_ids TEXT    NOT NULL
);
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_account_time ON audit (account_id, time);

CREATE TABLE audit_resources (
    resource_id TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    PRIMARY KEY (resource_id, seq)
);
CREATE INDEX audit_resources_seq ON audit_resources (seq);
