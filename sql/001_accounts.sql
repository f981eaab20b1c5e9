-- 001_accounts.sql: users, refresh tokens, WebSocket tickets, rate limits,
-- presence.  All tables InnoDB, utf8mb4; times are UTC (each connection
-- sets time_zone = '+00:00').

CREATE TABLE users (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  -- usernames are ASCII [A-Za-z0-9_.-]; the _ci collation makes the unique
  -- index case-insensitive while the name is stored as typed
  username       VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  email          VARCHAR(254) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  password_hash  VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  avatar_url     VARCHAR(512) NOT NULL DEFAULT '',
  token_version  INT UNSIGNED NOT NULL DEFAULT 1,
  created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_username (username),
  UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens: only the SHA-256 of the secret is stored.  Each login
-- starts a family; each refresh marks its token used and adds the next one
-- to the family.  Presenting a used token revokes the whole family.
CREATE TABLE refresh_tokens (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  token_hash     CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  family         CHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  token_version  INT UNSIGNED NOT NULL,
  created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at     DATETIME NOT NULL,
  used_at        DATETIME NULL,
  revoked_at     DATETIME NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_refresh_hash (token_hash),
  KEY ix_refresh_family (family),
  KEY ix_refresh_user (user_id),
  KEY ix_refresh_expires (expires_at),
  CONSTRAINT fk_refresh_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Single-use WebSocket tickets (30 s); the ws daemon redeems them with one
-- UPDATE ... WHERE used_at IS NULL AND expires_at > NOW().
CREATE TABLE ws_tickets (
  ticket_hash    CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at     DATETIME NOT NULL,
  used_at        DATETIME NULL,
  PRIMARY KEY (ticket_hash),
  KEY ix_tickets_expires (expires_at),
  CONSTRAINT fk_tickets_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Fixed-window counters for login/register limits, shared by all workers.
CREATE TABLE rate_limits (
  bucket         CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  window_start   BIGINT NOT NULL,
  hits           INT UNSIGNED NOT NULL,
  expires_at     DATETIME NOT NULL,
  PRIMARY KEY (bucket, window_start),
  KEY ix_rate_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Presence: one row per (user, ws node) while the user holds connections
-- there; refreshed by the node's heartbeat, stale after presence.ttl.
CREATE TABLE presence (
  user_id        BIGINT UNSIGNED NOT NULL,
  node_id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  connections    INT UNSIGNED NOT NULL DEFAULT 1,
  seen_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (user_id, node_id),
  KEY ix_presence_seen (seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii;
