-- The change log: the ops of every commit by revision, so other nodes follow the store at a
-- cost that follows the change (only the newest CHANGE_WINDOW revisions are kept). Leases: a
-- name held by one holder until it expires (background work that must run once).
CREATE TABLE changes (
    revision BIGINT PRIMARY KEY,
    ops      TEXT   NOT NULL
);

CREATE TABLE leases (
    name    TEXT   PRIMARY KEY,
    holder  TEXT   NOT NULL,
    expires BIGINT NOT NULL
);
