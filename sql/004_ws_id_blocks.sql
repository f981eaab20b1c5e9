-- 004_ws_id_blocks.sql: blocks of ids for chat messages that are not
-- stored (keep_chat_history off).  Each ws node reserves a block with one
-- insert (the AUTO_INCREMENT id is unique across nodes, on Galera too) and
-- numbers its unstored messages 2^52 + block * 2^16 + k, so two nodes never
-- hand out the same id and clients may drop duplicates by id.
CREATE TABLE ws_id_blocks (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  node_id      VARCHAR(64) NOT NULL,
  reserved_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
