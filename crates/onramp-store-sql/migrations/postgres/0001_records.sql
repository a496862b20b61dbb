-- Same shape as the SQLite store: JSON documents keyed by (kind, id), uniqueness in index tables.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('revision', 0);

CREATE TABLE records (
    kind       TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    revision   BIGINT NOT NULL,
    doc        TEXT   NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_account ON records (account_id);
CREATE INDEX records_revision ON records (revision);

CREATE TABLE listener_ports (
    owner_id    TEXT    NOT NULL,
    protocol    TEXT    NOT NULL,
    port        INTEGER NOT NULL,
    listener_id TEXT    NOT NULL,
    PRIMARY KEY (owner_id, protocol, port)
);
CREATE INDEX listener_ports_listener ON listener_ports (listener_id);

CREATE TABLE origin_addresses (
    account_id TEXT   NOT NULL,
    project_id BIGINT NOT NULL,
    address    TEXT   NOT NULL,
    origin_id  TEXT   NOT NULL,
    PRIMARY KEY (account_id, project_id, address)
);
CREATE INDEX origin_addresses_origin ON origin_addresses (origin_id);
