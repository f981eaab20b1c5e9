-- 003_rooms.sql: rooms, members, invitations, applications, chat history,
-- persisted playback.

CREATE TABLE rooms (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  owner_id           BIGINT UNSIGNED NOT NULL,
  name               VARCHAR(64) NOT NULL,
  description        VARCHAR(500) NOT NULL DEFAULT '',
  is_public          BOOLEAN NOT NULL DEFAULT TRUE,
  require_approval   BOOLEAN NOT NULL DEFAULT FALSE,
  keep_chat_history  BOOLEAN NOT NULL DEFAULT TRUE,
  sync_playback      BOOLEAN NOT NULL DEFAULT TRUE,
  guest_control      BOOLEAN NOT NULL DEFAULT FALSE,
  max_members        INT UNSIGNED NOT NULL DEFAULT 50,
  -- kept in step with room_members inside the same transactions; the
  -- capacity check locks this row, so parallel joins cannot overfill
  member_count       INT UNSIGNED NOT NULL DEFAULT 0,
  created_at         DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at         DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  dissolved_at       DATETIME NULL,
  PRIMARY KEY (id),
  KEY ix_rooms_public (is_public, dissolved_at, id),
  KEY ix_rooms_owner (owner_id),
  CONSTRAINT fk_rooms_owner FOREIGN KEY (owner_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE room_members (
  room_id    BIGINT UNSIGNED NOT NULL,
  user_id    BIGINT UNSIGNED NOT NULL,
  role       ENUM('owner', 'moderator', 'member') NOT NULL DEFAULT 'member',
  joined_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (room_id, user_id),
  KEY ix_members_user (user_id, room_id),
  CONSTRAINT fk_members_room FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  CONSTRAINT fk_members_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- At most one pending invitation per (room, invitee): the generated column
-- is 1 while pending and NULL otherwise, and NULLs never collide in a
-- unique index.
CREATE TABLE room_invitations (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  room_id      BIGINT UNSIGNED NOT NULL,
  inviter_id   BIGINT UNSIGNED NOT NULL,
  invitee_id   BIGINT UNSIGNED NOT NULL,
  status       ENUM('pending', 'accepted', 'declined', 'cancelled') NOT NULL DEFAULT 'pending',
  created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  responded_at DATETIME NULL,
  pending      TINYINT AS (IF(status = 'pending', 1, NULL)) PERSISTENT,
  PRIMARY KEY (id),
  UNIQUE KEY uq_invitation_pending (room_id, invitee_id, pending),
  KEY ix_invitations_invitee (invitee_id, status, id),
  CONSTRAINT fk_invitations_room FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  CONSTRAINT fk_invitations_inviter FOREIGN KEY (inviter_id) REFERENCES users (id) ON DELETE CASCADE,
  CONSTRAINT fk_invitations_invitee FOREIGN KEY (invitee_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

CREATE TABLE room_applications (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  room_id     BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  message     VARCHAR(500) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL DEFAULT '',
  status      ENUM('pending', 'approved', 'rejected', 'withdrawn') NOT NULL DEFAULT 'pending',
  decided_by  BIGINT UNSIGNED NULL,
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  decided_at  DATETIME NULL,
  pending     TINYINT AS (IF(status = 'pending', 1, NULL)) PERSISTENT,
  PRIMARY KEY (id),
  UNIQUE KEY uq_application_pending (room_id, user_id, pending),
  KEY ix_applications_room (room_id, status, id),
  CONSTRAINT fk_applications_room FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  CONSTRAINT fk_applications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii;

-- Written by the ws daemon when keep_chat_history is on; read by REST.
CREATE TABLE chat_messages (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  room_id     BIGINT UNSIGNED NOT NULL,
  user_id     BIGINT UNSIGNED NOT NULL,
  text        TEXT NOT NULL,
  created_at  DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_chat_room (room_id, id),
  CONSTRAINT fk_chat_room FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE,
  CONSTRAINT fk_chat_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The authoritative playback state, persisted by the ws daemon (coalesced)
-- so a restarted or other node resumes it.
CREATE TABLE room_playback (
  room_id        BIGINT UNSIGNED NOT NULL,
  media_url      VARCHAR(2048) NOT NULL DEFAULT '',
  state          ENUM('playing', 'paused') NOT NULL DEFAULT 'paused',
  position_ms    BIGINT NOT NULL DEFAULT 0,
  rate           DOUBLE NOT NULL DEFAULT 1,
  version        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at_ms  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id),
  CONSTRAINT fk_playback_room FOREIGN KEY (room_id) REFERENCES rooms (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
