-- 002_notifications.sql: the notification center and the event queue.

-- A user's notifications.  Deleting is soft (deleted_at); read and deleted
-- rows past the retention are moved to notifications_archive by
-- `yiqikanctl cleanup`.
CREATE TABLE notifications (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  user_id     BIGINT UNSIGNED NOT NULL,
  type        VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  content     LONGTEXT NOT NULL CHECK (JSON_VALID(content)),
  status      ENUM('unread', 'read') NOT NULL DEFAULT 'unread',
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  read_at     DATETIME NULL,
  deleted_at  DATETIME NULL,
  PRIMARY KEY (id),
  -- "mine, newest first": WHERE user_id = ? AND deleted_at IS NULL ORDER BY id DESC
  KEY ix_notifications_user (user_id, deleted_at, id),
  -- "unread count" and status filters
  KEY ix_notifications_status (user_id, status, deleted_at, id),
  -- cleanup scans
  KEY ix_notifications_read_at (read_at),
  KEY ix_notifications_deleted_at (deleted_at),
  CONSTRAINT fk_notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE notifications_archive (
  id          BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  type        VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  content     LONGTEXT NOT NULL,
  status      ENUM('unread', 'read') NOT NULL,
  created_at  DATETIME NOT NULL,
  read_at     DATETIME NULL,
  deleted_at  DATETIME NULL,
  archived_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY ix_archive_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The event queue: an append-only log that every ws node tails by id.
-- target_kind 'user' rows carry notifications to a user's connections,
-- 'room' rows carry room events and room traffic (origin = the ws node
-- that fanned it out locally already; empty for rows written by REST).
CREATE TABLE event_queue (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  target_kind  ENUM('user', 'room') NOT NULL,
  target_id    BIGINT UNSIGNED NOT NULL,
  type         VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payload      LONGTEXT NOT NULL CHECK (JSON_VALID(payload)),
  origin       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY ix_queue_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
