/*
 * floor: the C floor for Scripts/bench-core.sh. It does, with the raw libraries, the work one
 * `strongroom put` / `get` does, so the Swift figures can be read as ratios to it:
 *
 *   put: read the input in 64 KiB chunks; sniff the first 64 KiB with libmagic; SHA-256 of the
 *        plaintext (OpenSSL, SHA-NI); a fresh data key; libsodium secretstream
 *        XChaCha20-Poly1305 push with 64 KiB chunks, each with the blob header as associated
 *        data; BLAKE2b-256 of the ciphertext; write to blobs/tmp, fsync, rename into a shard
 *        folder, fsync the folder; wrap the data key (XChaCha20-Poly1305 under a KEK); one
 *        SQLite transaction (WAL, synchronous=FULL) with the record row and an audit row.
 *   get: look the row up; commit an audit row; unwrap the key; read the blob; secretstream
 *        pull; SHA-256 of the plaintext and compare; write the plaintext out (no fsync, as the
 *        CLI's get does not fsync its output).
 *
 * Usage:
 *   floor init STORE
 *   floor put  STORE LIST IDS [THREADS]    put every file named in LIST (one path a line); ids to IDS
 *   floor get  STORE IDS OUTDIR [THREADS]  get every id in IDS to OUTDIR/<line number, 6 digits>
 * With THREADS > 1 the list is split into contiguous slices, one per thread, each with its own
 * libmagic cookie and buffers; SQLite work is serialised on one connection (as GRDB's single
 * writer is). FLOOR_SQLITE_SYNC=NORMAL turns off the per-commit WAL sync (for comparison only).
 * Each prints one line: "files=N bytes=B seconds=S".
 *
 * Build: cc -O2 -Wall -Wno-format-truncation floor.c -o floor -lsodium -lmagic -lsqlite3 -lcrypto -lpthread
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define HBYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define KEYBYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define WRAPPED_BYTES (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + KEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define MAX_PATH 4096

static void die(const char *what, const char *detail) {
    fprintf(stderr, "floor: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", errno ? strerror(errno) : "failed");
    exit(2);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t read_full(int fd, unsigned char *buf, size_t want) {
    size_t got = 0;
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("read", NULL);
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    return got;
}

static void write_full(int fd, const unsigned char *buf, size_t n, const char *path) {
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write", path);
        }
        off += (size_t)w;
    }
}

static void fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) die("fsync directory", path);
    close(fd);
}

static void hex(const unsigned char *in, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

typedef struct {
    const char *root;
    char blobs[MAX_PATH], tmp[MAX_PATH];
    unsigned char kek[32];
    pthread_mutex_t db_lock; /* one SQLite writer, as GRDB's pool has; file work runs in parallel */
    sqlite3 *db;
    sqlite3_stmt *ins_record, *ins_audit, *get_record, *audit_head;
    unsigned char last_audit[32];
    long long audit_seq;
} Store;

static void sql(Store *s, const char *text) {
    char *err = NULL;
    if (sqlite3_exec(s->db, text, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "floor: sqlite: %s: %s\n", text, err ? err : "?");
        exit(2);
    }
}

static void open_store(Store *s, const char *root, int create) {
    memset(s, 0, sizeof *s);
    if (strlen(root) > 1024) { fprintf(stderr, "floor: store path too long\n"); exit(2); }
    s->root = root;
    snprintf(s->blobs, sizeof s->blobs, "%s/blobs", root);
    snprintf(s->tmp, sizeof s->tmp, "%s/blobs/tmp", root);
    char kekpath[MAX_PATH], dbpath[MAX_PATH];
    snprintf(kekpath, sizeof kekpath, "%s/kek", root);
    snprintf(dbpath, sizeof dbpath, "%s/floor.sqlite", root);
    if (create) {
        if (mkdir(root, 0700) != 0 && errno != EEXIST) die("mkdir", root);
        if (mkdir(s->blobs, 0700) != 0 && errno != EEXIST) die("mkdir", s->blobs);
        if (mkdir(s->tmp, 0700) != 0 && errno != EEXIST) die("mkdir", s->tmp);
        randombytes_buf(s->kek, sizeof s->kek);
        int fd = open(kekpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) die("create", kekpath);
        write_full(fd, s->kek, sizeof s->kek, kekpath);
        if (fsync(fd) != 0) die("fsync", kekpath);
        close(fd);
        fsync_dir(root);
    } else {
        int fd = open(kekpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read_full(fd, s->kek, sizeof s->kek) != sizeof s->kek) die("read", kekpath);
        close(fd);
    }
    if (sqlite3_open(dbpath, &s->db) != SQLITE_OK) die("sqlite3_open", dbpath);
    sqlite3_busy_timeout(s->db, 10000);
    sql(s, "PRAGMA journal_mode = WAL");
    /* FLOOR_SQLITE_SYNC=NORMAL shows what skipping the per-commit WAL sync is worth. */
    const char *sync_mode = getenv("FLOOR_SQLITE_SYNC");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s",
             sync_mode && strcmp(sync_mode, "NORMAL") == 0 ? "NORMAL" : "FULL");
    sql(s, pragma);
    pthread_mutex_init(&s->db_lock, NULL);
    sql(s, "PRAGMA secure_delete = ON");
    sql(s, "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY NOT NULL, size INTEGER NOT NULL, "
           "sha256 TEXT NOT NULL, blake2b TEXT NOT NULL, csize INTEGER NOT NULL, sniffed TEXT NOT NULL, "
           "created_ms INTEGER NOT NULL, wrapped BLOB NOT NULL)");
    sql(s, "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY NOT NULL, time_ms INTEGER NOT NULL, "
           "action TEXT NOT NULL, record TEXT, prev_hash BLOB NOT NULL, hash BLOB NOT NULL)");
    sql(s, "CREATE INDEX IF NOT EXISTS audit_by_record ON audit (record)");
    if (sqlite3_prepare_v2(s->db, "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &s->ins_record, NULL) ||
        sqlite3_prepare_v2(s->db, "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)", -1, &s->ins_audit, NULL) ||
        sqlite3_prepare_v2(s->db, "SELECT size, sha256, csize, wrapped FROM records WHERE id = ?", -1, &s->get_record, NULL)) {
        fprintf(stderr, "floor: prepare: %s\n", sqlite3_errmsg(s->db));
        exit(2);
    }
    if (sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &s->audit_head, NULL)) {
        fprintf(stderr, "floor: prepare: %s\n", sqlite3_errmsg(s->db));
        exit(2);
    }

}

/* One libmagic cookie per thread: a magic_t must not be shared between threads. */
static magic_t new_magic(void) {
    int flags = MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_ELF;
#ifdef MAGIC_NO_COMPRESS_FORK
    flags |= MAGIC_NO_COMPRESS_FORK;
#endif
#ifdef MAGIC_NO_CHECK_CSV
    flags |= MAGIC_NO_CHECK_CSV;
#endif
#ifdef MAGIC_NO_CHECK_JSON
    flags |= MAGIC_NO_CHECK_JSON;
#endif
    magic_t m = magic_open(flags);
    if (!m || magic_load(m, NULL) != 0) die("magic_load", NULL);
    size_t max = CHUNK;
    magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &max);
    return m;
}

static long long millis(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Binds one audit row (hash-chained with SHA-256, as Strongroom's events are) into the open transaction. */
static void audit(Store *s, const char *action, const char *record) {
    /* The chain head is read inside the transaction, so several floor processes can share a store. */
    s->audit_seq = 0;
    memset(s->last_audit, 0, 32);
    if (sqlite3_step(s->audit_head) == SQLITE_ROW) {
        s->audit_seq = sqlite3_column_int64(s->audit_head, 0);
        memcpy(s->last_audit, sqlite3_column_blob(s->audit_head, 1), 32);
    }
    sqlite3_reset(s->audit_head);
    long long t = millis();
    unsigned char h[32];
    char content[256];
    int n = snprintf(content, sizeof content, "%lld|%lld|%s|%s", s->audit_seq + 1, t, action, record ? record : "");
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, s->last_audit, 32);
    EVP_DigestUpdate(c, content, (size_t)n);
    EVP_DigestFinal_ex(c, h, NULL);
    EVP_MD_CTX_free(c);
    sqlite3_stmt *st = s->ins_audit;
    sqlite3_bind_int64(st, 1, s->audit_seq + 1);
    sqlite3_bind_int64(st, 2, t);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    if (record) sqlite3_bind_text(st, 4, record, -1, SQLITE_STATIC); else sqlite3_bind_null(st, 4);
    sqlite3_bind_blob(st, 5, s->last_audit, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, h, 32, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) { fprintf(stderr, "floor: audit insert: %s\n", sqlite3_errmsg(s->db)); exit(2); }
    sqlite3_reset(st);
    memcpy(s->last_audit, h, 32);
    s->audit_seq++;
}

/* The blob header, which is also every chunk's associated data: magic, version, chunk size, length, binding. */
static size_t blob_prefix(const char *id, unsigned char *out) {
    static const unsigned char magic[8] = {0x89, 0x53, 0x52, 0x42, 0x0D, 0x0A, 0x1A, 0x0A};
    const char *fields[3] = {"strongroom/v1/blob", "bench-school", id};
    size_t len = 0;
    unsigned char binding[256];
    for (int i = 0; i < 3; i++) {
        uint32_t n = (uint32_t)strlen(fields[i]);
        binding[len++] = (unsigned char)(n >> 24); binding[len++] = (unsigned char)(n >> 16);
        binding[len++] = (unsigned char)(n >> 8); binding[len++] = (unsigned char)n;
        memcpy(binding + len, fields[i], n);
        len += n;
    }
    memcpy(out, magic, 8);
    out[8] = 1; out[9] = 16;
    out[10] = (unsigned char)(len >> 24); out[11] = (unsigned char)(len >> 16);
    out[12] = (unsigned char)(len >> 8); out[13] = (unsigned char)len;
    memcpy(out + 14, binding, len);
    return 14 + len;
}

static long long put_one(Store *s, magic_t magic, const char *in, char *id_out, unsigned char *bufs[2], unsigned char *cbuf) {
    int fd = open(in, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", in);
    size_t n = read_full(fd, bufs[0], CHUNK);
    if (n == 0) { fprintf(stderr, "floor: %s is empty\n", in); exit(2); }
    const char *mime = magic_buffer(magic, bufs[0], n);
    if (!mime) { fprintf(stderr, "floor: libmagic: %s\n", magic_error(magic)); exit(2); }
    char sniffed[128];
    snprintf(sniffed, sizeof sniffed, "%s", mime);

    unsigned char rid[16], key[KEYBYTES], header[HBYTES], prefix[300], sha[32], b2[32];
    randombytes_buf(rid, sizeof rid);
    hex(rid, sizeof rid, id_out);
    crypto_secretstream_xchacha20poly1305_keygen(key);
    char tmp[MAX_PATH], shard[MAX_PATH], final_path[MAX_PATH];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", s->tmp, id_out);
    snprintf(shard, sizeof shard, "%s/%.2s", s->blobs, id_out);
    snprintf(final_path, sizeof final_path, "%s/%s.blob", shard, id_out);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) die("create", tmp);

    EVP_MD_CTX *sh = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sh, EVP_sha256(), NULL);
    crypto_generichash_state b2s;
    crypto_generichash_init(&b2s, NULL, 0, 32);
    crypto_secretstream_xchacha20poly1305_state st;
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
    size_t plen = blob_prefix(id_out, prefix);
    crypto_generichash_update(&b2s, prefix, plen);
    write_full(out, prefix, plen, tmp);
    crypto_generichash_update(&b2s, header, sizeof header);
    write_full(out, header, sizeof header, tmp);
    long long csize = (long long)(plen + sizeof header), total = 0;

    int cur = 0;
    for (;;) {
        /* Hold back the chunk until it is known whether it is the last, as the blob writer does. */
        size_t next = n == CHUNK ? read_full(fd, bufs[cur ^ 1], CHUNK) : 0;
        EVP_DigestUpdate(sh, bufs[cur], n);
        total += (long long)n;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(
            &st, cbuf, &clen, bufs[cur], n, prefix, plen,
            next == 0 ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        crypto_generichash_update(&b2s, cbuf, (size_t)clen);
        write_full(out, cbuf, (size_t)clen, tmp);
        csize += (long long)clen;
        if (next == 0) break;
        cur ^= 1;
        n = next;
    }
    close(fd);
    EVP_DigestFinal_ex(sh, sha, NULL);
    EVP_MD_CTX_free(sh);
    crypto_generichash_final(&b2s, b2, 32);
    if (fsync(out) != 0) die("fsync", tmp);
    close(out);
    if (mkdir(shard, 0700) == 0) fsync_dir(s->blobs); else if (errno != EEXIST) die("mkdir", shard);
    if (rename(tmp, final_path) != 0) die("rename", final_path);
    fsync_dir(shard);

    unsigned char wrapped[WRAPPED_BYTES];
    randombytes_buf(wrapped, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, key, sizeof key, (unsigned char *)id_out, 32, NULL,
        wrapped, s->kek);
    sodium_memzero(key, sizeof key);

    char shahex[65], b2hex[65];
    hex(sha, 32, shahex);
    hex(b2, 32, b2hex);
    pthread_mutex_lock(&s->db_lock);
    sql(s, "BEGIN IMMEDIATE");
    sqlite3_stmt *r = s->ins_record;
    sqlite3_bind_text(r, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 2, total);
    sqlite3_bind_text(r, 3, shahex, -1, SQLITE_STATIC);
    sqlite3_bind_text(r, 4, b2hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 5, csize);
    sqlite3_bind_text(r, 6, sniffed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r, 7, millis());
    sqlite3_bind_blob(r, 8, wrapped, sizeof wrapped, SQLITE_STATIC);
    if (sqlite3_step(r) != SQLITE_DONE) { fprintf(stderr, "floor: insert: %s\n", sqlite3_errmsg(s->db)); exit(2); }
    sqlite3_reset(r);
    audit(s, "put", id_out);
    sql(s, "COMMIT");
    pthread_mutex_unlock(&s->db_lock);
    return total;
}

static long long get_one(Store *s, const char *id, const char *outpath, unsigned char *pbuf, unsigned char *cbuf) {
    pthread_mutex_lock(&s->db_lock);
    sqlite3_stmt *q = s->get_record;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) { fprintf(stderr, "floor: no record %s\n", id); exit(2); }
    long long size = sqlite3_column_int64(q, 0);
    char sha_want[65];
    snprintf(sha_want, sizeof sha_want, "%s", (const char *)sqlite3_column_text(q, 1));
    long long csize = sqlite3_column_int64(q, 2);
    unsigned char wrapped[WRAPPED_BYTES], key[KEYBYTES];
    if (sqlite3_column_bytes(q, 3) != (int)sizeof wrapped) { fprintf(stderr, "floor: bad wrapped key\n"); exit(2); }
    memcpy(wrapped, sqlite3_column_blob(q, 3), sizeof wrapped);
    sqlite3_reset(q);
    /* No audit row, no access: committed before the first byte leaves. */
    sql(s, "BEGIN IMMEDIATE");
    audit(s, "get", id);
    sql(s, "COMMIT");
    pthread_mutex_unlock(&s->db_lock);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            key, NULL, NULL, wrapped + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            sizeof wrapped - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const unsigned char *)id, 32, wrapped, s->kek) != 0) {
        fprintf(stderr, "floor: key unwrap failed\n");
        exit(2);
    }
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s/%.2s/%s.blob", s->blobs, id, id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    unsigned char fixed[14], prefix[300], header[HBYTES];
    if (read_full(fd, fixed, 14) != 14) die("short blob", path);
    size_t blen = (size_t)fixed[10] << 24 | (size_t)fixed[11] << 16 | (size_t)fixed[12] << 8 | fixed[13];
    if (blen > sizeof prefix - 14) die("bad blob", path);
    memcpy(prefix, fixed, 14);
    if (read_full(fd, prefix + 14, blen) != blen || read_full(fd, header, HBYTES) != HBYTES) die("short blob", path);
    size_t plen = 14 + blen;
    crypto_secretstream_xchacha20poly1305_state st;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) != 0) die("bad header", path);
    sodium_memzero(key, sizeof key);
    int out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) die("create", outpath);
    EVP_MD_CTX *sh = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sh, EVP_sha256(), NULL);
    long long total = 0, read_bytes = (long long)(plen + HBYTES);
    for (;;) {
        size_t n = read_full(fd, cbuf, CHUNK + ABYTES);
        if (n < ABYTES) die("truncated blob", path);
        read_bytes += (long long)n;
        unsigned long long mlen;
        unsigned char tag;
        if (crypto_secretstream_xchacha20poly1305_pull(&st, pbuf, &mlen, &tag, cbuf, n, prefix, plen) != 0) die("altered chunk", path);
        EVP_DigestUpdate(sh, pbuf, (size_t)mlen);
        write_full(out, pbuf, (size_t)mlen, outpath);
        total += (long long)mlen;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
        if (n != CHUNK + ABYTES) die("truncated blob", path);
    }
    close(fd);
    close(out);
    unsigned char sha[32];
    char shahex[65];
    EVP_DigestFinal_ex(sh, sha, NULL);
    EVP_MD_CTX_free(sh);
    hex(sha, 32, shahex);
    if (total != size || read_bytes != csize || strcmp(shahex, sha_want) != 0) {
        fprintf(stderr, "floor: %s does not match its record\n", id);
        exit(2);
    }
    return total;
}

static char *chomp(char *line) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

typedef struct {
    Store *store;
    int put;
    char **lines;
    char (*ids)[33];
    size_t lo, hi;
    const char *outdir;
    long long bytes;
} Work;

static void *worker(void *arg) {
    Work *w = arg;
    unsigned char *b0 = malloc(CHUNK), *b1 = malloc(CHUNK), *cbuf = malloc(CHUNK + ABYTES);
    if (!b0 || !b1 || !cbuf) die("malloc", NULL);
    unsigned char *bufs[2] = {b0, b1};
    magic_t magic = w->put ? new_magic() : NULL;
    char out[MAX_PATH];
    for (size_t i = w->lo; i < w->hi; i++) {
        if (w->put) {
            w->bytes += put_one(w->store, magic, w->lines[i], w->ids[i], bufs, cbuf);
        } else {
            snprintf(out, sizeof out, "%s/%06zu", w->outdir, i);
            w->bytes += get_one(w->store, w->lines[i], out, b0, cbuf);
        }
    }
    if (magic) magic_close(magic);
    free(b0); free(b1); free(cbuf);
    return NULL;
}

int main(int argc, char **argv) {
    if (sodium_init() < 0) die("sodium_init", NULL);
    if (argc == 3 && strcmp(argv[1], "init") == 0) {
        Store s;
        open_store(&s, argv[2], 1);
        return 0;
    }
    int threads = argc == 6 ? atoi(argv[5]) : 1;
    if ((argc != 5 && argc != 6) || threads < 1 || threads > 64 ||
        (strcmp(argv[1], "put") != 0 && strcmp(argv[1], "get") != 0)) {
        fprintf(stderr, "usage: floor init STORE | floor put STORE LIST IDS [THREADS] | floor get STORE IDS OUTDIR [THREADS]\n");
        return 64;
    }
    int put = strcmp(argv[1], "put") == 0;
    double start = now();
    Store s;
    open_store(&s, argv[2], 0);
    FILE *list = fopen(argv[3], "r");
    if (!list) die("open", argv[3]);
    size_t count = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines), line[MAX_PATH];
    while (lines && fgets(line, sizeof line, list)) {
        chomp(line);
        if (!*line) continue;
        if (count == cap && !(lines = realloc(lines, (cap *= 2) * sizeof *lines))) break;
        if (!(lines[count++] = strdup(line))) die("strdup", NULL);
    }
    if (!lines) die("malloc", NULL);
    fclose(list);
    char (*ids)[33] = calloc(count ? count : 1, sizeof *ids);
    Work work[64];
    pthread_t tids[64];
    if ((size_t)threads > count) threads = count ? (int)count : 1;
    for (int t = 0; t < threads; t++) {
        work[t] = (Work){&s, put, lines, ids, count * t / threads, count * (t + 1) / threads, argv[4], 0};
        if (threads > 1 && pthread_create(&tids[t], NULL, worker, &work[t]) != 0) die("pthread_create", NULL);
    }
    long long bytes = 0;
    for (int t = 0; t < threads; t++) {
        if (threads > 1) pthread_join(tids[t], NULL); else worker(&work[t]);
        bytes += work[t].bytes;
    }
    if (put) {
        FILE *out = fopen(argv[4], "w");
        if (!out) die("create", argv[4]);
        for (size_t i = 0; i < count; i++) fprintf(out, "%s\n", ids[i]);
        if (fclose(out) != 0) die("write", argv[4]);
    }
    double seconds = now() - start;
    printf("files=%zu bytes=%lld seconds=%.3f\n", count, bytes, seconds);
    sqlite3_finalize(s.ins_record); sqlite3_finalize(s.ins_audit); sqlite3_finalize(s.get_record); sqlite3_finalize(s.audit_head);
    sqlite3_close(s.db);
    return 0;
}
