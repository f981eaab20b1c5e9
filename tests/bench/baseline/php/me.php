<?php
// GET /users/me the classic LAMP way: verify the HS256 bearer token with
// hash_hmac + hash_equals, then one PDO prepared query.  Tokens are the
// FastAPI baseline's (same key, sub = username, integer exp) and the user
// row is read from its database, so both baselines serve the same data.
//
// The pool passes BENCH_PDO_DSN, BENCH_DB_USER, BENCH_DB_PASSWORD and
// BENCH_JWT_SECRET (env[...] in the php-fpm pool, written by run.sh).

function fail(int $code, string $detail): void
{
    http_response_code($code);
    header('Content-Type: application/json');
    if ($code === 401) {
        header('WWW-Authenticate: Bearer');
    }
    echo json_encode(['detail' => $detail]);
    exit;
}

function b64url_decode(string $s): string|false
{
    $pad = strlen($s) % 4;
    if ($pad) {
        $s .= str_repeat('=', 4 - $pad);
    }
    return base64_decode(strtr($s, '-_', '+/'), true);
}

$auth = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
if (!preg_match('/^Bearer\s+([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)$/', $auth, $m)) {
    fail(401, 'Not authenticated');
}
[, $h64, $p64, $s64] = $m;

$header = json_decode((string) b64url_decode($h64), true);
if (!is_array($header) || ($header['alg'] ?? null) !== 'HS256') {
    fail(401, 'Could not validate credentials');
}
$expected = hash_hmac('sha256', $h64 . '.' . $p64, getenv('BENCH_JWT_SECRET'), true);
$sig = b64url_decode($s64);
if ($sig === false || !hash_equals($expected, $sig)) {
    fail(401, 'Could not validate credentials');
}
$claims = json_decode((string) b64url_decode($p64), true);
if (!is_array($claims) || !is_int($claims['exp'] ?? null) || $claims['exp'] <= time()
    || !is_string($claims['sub'] ?? null)) {
    fail(401, 'Could not validate credentials');
}

try {
    // persistent connections: one per php-fpm child, reused across requests
    $pdo = new PDO(getenv('BENCH_PDO_DSN'), getenv('BENCH_DB_USER'), getenv('BENCH_DB_PASSWORD'), [
        PDO::ATTR_PERSISTENT => true,
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    ]);
    $st = $pdo->prepare('SELECT id, username, email, avatar_url, created_at, updated_at FROM users WHERE username = ?');
    $st->execute([$claims['sub']]);
    $user = $st->fetch(PDO::FETCH_ASSOC);
} catch (PDOException $e) {
    header('Retry-After: 2');
    fail(503, 'Service temporarily unavailable, try again shortly');
}
if (!$user) {
    fail(401, 'Could not validate credentials');
}

header('Content-Type: application/json');
echo json_encode([
    'id' => (int) $user['id'],
    'username' => $user['username'],
    'email' => $user['email'],
    'avatar_url' => $user['avatar_url'],
    'created_at' => str_replace(' ', 'T', $user['created_at']) . 'Z',
    'updated_at' => str_replace(' ', 'T', $user['updated_at']) . 'Z',
]);
