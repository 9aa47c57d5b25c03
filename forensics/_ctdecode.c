/*
 * _ctdecode: a strict, validating CloudTrail decoder that builds the loader's prepared
 * Arrow columns directly, across many files, without a Python object per value.
 *
 * Builder(categories: tuple[str, ...])
 *   add(data: bytes) -> int | None
 *       Parse the inflated bytes of one CloudTrail file, {"Records":[{...}, ...]}, into
 *       per-file scratch buffers; if the file is clean and every eventTime has the
 *       canonical form, append its rows to the accumulated columns and return how many.
 *       Otherwise return None and append nothing (the state is exactly as before).
 *   rows: int                                 rows accumulated so far
 *   finish() -> dict[str, tuple]              hand over every column, reset to empty
 *       For each record column (forensics.records.RECORD_COLUMNS minus record_index)
 *       and "actor" (ARN, else invokedBy, else principalId, else accountId, skipping
 *       empty strings, else "unknown"):
 *         category column:  (validity, codes, int32 dictionary offsets, dictionary data)
 *                           the dictionary holds the distinct non-null values in order of
 *                           first appearance, as pyarrow.compute.dictionary_encode gives;
 *                           the codes are int8, int16 or int32 as pandas would choose for
 *                           as many categories (below 127, below 32767, else), and -1
 *                           under a null (pandas' code for a missing value)
 *         other string/JSON column: (validity, int64 offsets, data)   Arrow large_string
 *         bool column:      (validity, value bits)
 *         eventTime:        (None, int64 microseconds since the epoch, UTC)
 *       Each item is a Buffer (or None): a block of memory exposed read-only through the
 *       buffer protocol, so pyarrow.py_buffer wraps it without a copy. Validity bitmaps
 *       (LSB-first, as Arrow wants them) are None when the column has no null.
 * validate(data: bytes) -> bool    whether data is one valid JSON value (strict UTF-8)
 * all_distinct(validity, offsets, data, offset: int, length: int) -> bool
 *     Whether no non-null value of an Arrow large_string array occurs twice, given its
 *     buffers (anything with the buffer protocol; validity may be None; offsets int64 in
 *     the machine's byte order, as Arrow has them) and its slice. ValueError if the
 *     buffers are too small for the slice, or the offsets decrease or leave the data;
 *     MemoryError. A hash set of row numbers (keyed hash_bytes, about 8 bytes per
 *     non-null row, freed before returning), scanned without the GIL; stops at the
 *     first duplicate.
 *
 * A file is declined (None: the msgspec path in forensics/records.py takes it and
 * reports what is odd) for any JSON syntax error anywhere, invalid UTF-8 anywhere, raw
 * control characters in strings, lone surrogate escapes, a value of the wrong JSON type
 * for a typed field, a repeated schema key, nesting deeper than MAX_DEPTH, no Records
 * list, a byte order mark, an eventTime that is missing, null or not exactly
 * YYYY-MM-DDTHH:MM:SSZ (a real date, years 1900-9999), or when a column would outgrow
 * its offsets (int32 for dictionaries, int64 otherwise) or the rows INT32_MAX.
 *
 * add() works in two steps so that a declined file leaves no trace: first the parse and
 * every check, on the scratch buffers only; then the commit, which reserves all the room
 * it needs before it writes, so that the only thing left to fail is the dictionary
 * encoding (out of memory, or a dictionary outgrowing its int32 offsets), which is
 * undone by truncating the dictionaries back to their size before the call.
 *
 * Dictionaries are open-addressing hash tables (linear probing, load <= 1/2) keyed with
 * a per-process random secret taken from os.urandom at import: the values are
 * attacker-controlled, so their hashes must not be predictable (hash flooding).
 *
 * Safety: every read is checked against the end of the input; buffer growth is checked
 * for overflow; recursion is bounded by MAX_DEPTH; the GIL is released only while the
 * builder works on the immutable bytes object and its own malloc'd buffers, with a busy
 * flag (set and cleared under the GIL) refusing concurrent use of one builder, and while
 * all_distinct reads buffers it holds views of (re-checking each offset it uses: a
 * writable buffer may change meanwhile).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Big blocks are pages of their own (mmap), so that freeing one gives the memory back to
 * the system at once. Through malloc they would raise glibc's dynamic mmap threshold when
 * freed, after which blocks below 32 MiB come from the heap and stay in the process when
 * freed: a load would keep the memory of the builder it no longer uses. Sanitizer builds
 * (CTDECODE_TESTING) keep malloc, which they check. */
#if defined(__linux__) && !defined(CTDECODE_TESTING)
#include <sys/mman.h>
#define BIG_BLOCK ((size_t)1 << 20)
#endif

/* Containers nested deeper than this (the top object counts as 1) make the file unclean.
 * msgspec itself fails near Python's recursion limit (about 1000), so stay well below. */
#define MAX_DEPTH 200

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} Buf;

enum { OK = 0, E_INVALID = 1, E_NOMEM = 2, E_TOOBIG = 3 };

/* Blocks: a block of capacity `cap` is mapped pages if cap >= BIG_BLOCK (and mmap is
 * used), else malloc'd; every block function is given the capacity it was made with. */
#ifdef BIG_BLOCK
static inline int block_mapped(size_t cap) { return cap >= BIG_BLOCK; }

/* cap rounded up to whole pages, for a mapped block (0 on overflow). */
static inline size_t block_round(size_t cap) {
    size_t page = 4096;
    return cap > SIZE_MAX - (page - 1) ? 0 : (cap + page - 1) & ~(page - 1);
}
#endif

/* A block of `cap` bytes (cap > 0), zeroed if asked; NULL if out of memory. Mapped blocks
 * are zeroed anyway. */
static void *block_alloc(size_t cap, int zeroed) {
#ifdef BIG_BLOCK
    if (block_mapped(cap)) {
        void *p;
        if (block_round(cap) == 0) return NULL;
        p = mmap(NULL, block_round(cap), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
#endif
    return zeroed ? calloc(cap, 1) : malloc(cap);
}

static void block_free(void *p, size_t cap) {
    if (p == NULL) return;
#ifdef BIG_BLOCK
    if (block_mapped(cap)) {
        munmap(p, block_round(cap));
        return;
    }
#endif
    (void)cap;
    free(p);
}

/* Block p of capacity cap (p may be NULL, then cap is 0) with capacity new_cap > 0 and its
 * first `keep` bytes (keep <= both capacities); NULL if out of memory, p then unchanged. */
static void *block_resize(void *p, size_t cap, size_t keep, size_t new_cap) {
#ifdef BIG_BLOCK
    if (block_mapped(cap) || block_mapped(new_cap)) {
        void *q;
        if (p != NULL && block_mapped(cap) && block_mapped(new_cap)) {
            if (block_round(new_cap) == 0) return NULL;
            q = mremap(p, block_round(cap), block_round(new_cap), MREMAP_MAYMOVE);
            return q == MAP_FAILED ? NULL : q;
        }
        q = block_alloc(new_cap, 0);
        if (q == NULL) return NULL;
        if (keep) memcpy(q, p, keep);
        block_free(p, cap);
        return q;
    }
#endif
    (void)cap;
    (void)keep;
    return realloc(p, new_cap);
}

static int buf_reserve(Buf *b, size_t extra) {
    size_t need, cap;
    void *np;
    if (extra > SIZE_MAX - b->len) return E_NOMEM;
    need = b->len + extra;
    if (need <= b->cap) return OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    np = block_resize(b->p, b->cap, b->len, cap);
    if (np == NULL) return E_NOMEM;
    b->p = (uint8_t *)np;
    b->cap = cap;
    return OK;
}

static inline int buf_append(Buf *b, const void *src, size_t n) {
    int rc;
    if (n == 0) return OK;
    if (b->cap - b->len < n) {
        rc = buf_reserve(b, n);
        if (rc) return rc;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return OK;
}

static void buf_free(Buf *b) {
    block_free(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Room for n items of size bytes each, beyond the current length (overflow-checked). */
static int buf_reserve_items(Buf *b, size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) return E_NOMEM;
    return buf_reserve(b, n * size);
}

/* -------------------------------------------------------------------------- schema */

enum { K_STR = 0, K_BOOL = 1, K_JSON = 2, K_OBJ = 3 };

/* Column numbers: the order of RECORD_COLUMNS without record_index. */
#define NCOLS 34
static const char *const COL_NAMES[NCOLS] = {
    "eventTime", "eventVersion", "eventSource", "eventName", "eventType", "eventCategory",
    "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage",
    "recipientAccountId", "eventID", "requestID", "sharedEventID", "vpcEndpointId",
    "readOnly", "managementEvent",
    "userIdentity.type", "userIdentity.arn", "userIdentity.principalId",
    "userIdentity.accountId", "userIdentity.accessKeyId", "userIdentity.userName",
    "userIdentity.invokedBy", "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.sourceIdentity",
    "requestParameters", "responseElements", "resources", "additionalEventData",
    "serviceEventDetails", "addendum",
};

static int col_kind(int col) {
    if (col == 16 || col == 17) return K_BOOL;
    if (col >= 28) return K_JSON;
    return K_STR;
}

typedef struct {
    const char *name;
    int kind;
    int arg; /* column for K_STR/K_BOOL/K_JSON, level for K_OBJ */
} Field;

enum { L_RECORD = 0, L_IDENTITY = 1, L_CONTEXT = 2, L_ISSUER = 3, L_ATTRIBUTES = 4, NLEVELS = 5 };

static const Field RECORD_FIELDS[] = {
    {"eventTime", K_STR, 0}, {"eventVersion", K_STR, 1}, {"eventSource", K_STR, 2},
    {"eventName", K_STR, 3}, {"eventType", K_STR, 4}, {"eventCategory", K_STR, 5},
    {"awsRegion", K_STR, 6}, {"sourceIPAddress", K_STR, 7}, {"userAgent", K_STR, 8},
    {"errorCode", K_STR, 9}, {"errorMessage", K_STR, 10}, {"recipientAccountId", K_STR, 11},
    {"eventID", K_STR, 12}, {"requestID", K_STR, 13}, {"sharedEventID", K_STR, 14},
    {"vpcEndpointId", K_STR, 15}, {"readOnly", K_BOOL, 16}, {"managementEvent", K_BOOL, 17},
    {"userIdentity", K_OBJ, L_IDENTITY},
    {"requestParameters", K_JSON, 28}, {"responseElements", K_JSON, 29},
    {"resources", K_JSON, 30}, {"additionalEventData", K_JSON, 31},
    {"serviceEventDetails", K_JSON, 32}, {"addendum", K_JSON, 33},
};
static const Field IDENTITY_FIELDS[] = {
    {"type", K_STR, 18}, {"arn", K_STR, 19}, {"principalId", K_STR, 20},
    {"accountId", K_STR, 21}, {"accessKeyId", K_STR, 22}, {"userName", K_STR, 23},
    {"invokedBy", K_STR, 24}, {"sessionContext", K_OBJ, L_CONTEXT},
};
static const Field CONTEXT_FIELDS[] = {
    {"sessionIssuer", K_OBJ, L_ISSUER}, {"attributes", K_OBJ, L_ATTRIBUTES},
    {"sourceIdentity", K_STR, 27},
};
static const Field ISSUER_FIELDS[] = {{"arn", K_STR, 25}};
static const Field ATTRIBUTES_FIELDS[] = {{"mfaAuthenticated", K_STR, 26}};

#define MAX_KEY 32 /* longer than every schema key */

#define NBUCKETS 128
#define BUCKET_SLOTS 4

typedef struct {
    const Field *fields;
    int n;
    /* a small hash table of the keys: indexes into fields, -1 for empty slots */
    signed char bucket[NBUCKETS][BUCKET_SLOTS];
    size_t len[32]; /* strlen of each field name */
} Level;

static Level LEVELS[NLEVELS];

/* Hash of a key of length 1..MAX_KEY (reads key[0], key[len/2], key[len-1]). */
static inline unsigned key_hash(const uint8_t *key, size_t len) {
    return (unsigned)(len + 3u * key[0] + 7u * key[len / 2] + 11u * key[len - 1]) & (NBUCKETS - 1);
}

static int init_levels(void) {
    const Field *tables[NLEVELS] = {RECORD_FIELDS, IDENTITY_FIELDS, CONTEXT_FIELDS, ISSUER_FIELDS,
                                    ATTRIBUTES_FIELDS};
    const int counts[NLEVELS] = {
        (int)(sizeof RECORD_FIELDS / sizeof RECORD_FIELDS[0]),
        (int)(sizeof IDENTITY_FIELDS / sizeof IDENTITY_FIELDS[0]),
        (int)(sizeof CONTEXT_FIELDS / sizeof CONTEXT_FIELDS[0]),
        (int)(sizeof ISSUER_FIELDS / sizeof ISSUER_FIELDS[0]),
        (int)(sizeof ATTRIBUTES_FIELDS / sizeof ATTRIBUTES_FIELDS[0]),
    };
    int lv, i, k;
    for (lv = 0; lv < NLEVELS; lv++) {
        Level *L = &LEVELS[lv];
        L->fields = tables[lv];
        L->n = counts[lv];
        if (L->n > 32) return -1; /* the seen-bitmask is 32 bits */
        memset(L->bucket, -1, sizeof L->bucket);
        for (i = 0; i < L->n; i++) {
            size_t len = strlen(L->fields[i].name);
            unsigned h;
            if (len == 0 || len > MAX_KEY) return -1;
            L->len[i] = len;
            h = key_hash((const uint8_t *)L->fields[i].name, len);
            for (k = 0; k < BUCKET_SLOTS && L->bucket[h][k] >= 0; k++) {
            }
            if (k == BUCKET_SLOTS) return -1; /* too many collisions: change key_hash */
            L->bucket[h][k] = (signed char)i;
        }
    }
    return 0;
}

static inline int level_lookup(const Level *L, const uint8_t *key, size_t len) {
    int k, i;
    unsigned h;
    if (len == 0 || len > MAX_KEY) return -1;
    h = key_hash(key, len);
    for (k = 0; k < BUCKET_SLOTS && (i = L->bucket[h][k]) >= 0; k++) {
        if (L->len[i] == len) {
            const char *name = L->fields[i].name;
            size_t j = 0;
            while (j < len && (uint8_t)name[j] == key[j]) j++;
            if (j == len) return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ per-file scratch columns */

/* What the parser writes for one file; the Builder keeps one Parser and reuses its
 * buffers (and their capacity) from file to file. */
typedef struct {
    Buf data;  /* string bytes (unescaped) or verbatim JSON bytes, row after row */
    Buf offs;  /* int64 offsets into data, n+1 of them (string and JSON columns) */
    Buf valid; /* one byte per row: 1 if the value is present and not null */
    Buf vals;  /* booleans: one byte per row */
} Col;

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    int err;
    size_t nrows;
    size_t row_cap; /* rows (+1) that every per-row buffer has room for */
    Col cols[NCOLS];
    uint8_t row_valid[NCOLS];
    uint8_t row_bool[NCOLS];
} Parser;

static void parser_free(Parser *ps) {
    int c;
    for (c = 0; c < NCOLS; c++) {
        buf_free(&ps->cols[c].data);
        buf_free(&ps->cols[c].offs);
        buf_free(&ps->cols[c].valid);
        buf_free(&ps->cols[c].vals);
    }
    ps->row_cap = 0;
}

/* Forget the previous file's rows, keeping the buffers' capacity (row_cap stays true). */
static void parser_reset(Parser *ps, const uint8_t *data, size_t len) {
    int c;
    for (c = 0; c < NCOLS; c++) {
        ps->cols[c].data.len = 0;
        ps->cols[c].offs.len = 0;
        ps->cols[c].valid.len = 0;
        ps->cols[c].vals.len = 0;
    }
    ps->p = data;
    ps->end = data + len;
    ps->err = OK;
    ps->nrows = 0;
}

/* Make room for one more row (n+1 offsets) in every per-row buffer at once, so that
 * finish_row can store without checks. */
static int ensure_rows(Parser *ps) {
    size_t need = ps->nrows + 2, cap;
    int c, rc;
    if (need <= ps->row_cap) return OK;
    cap = ps->row_cap ? ps->row_cap : 512;
    while (cap < need) {
        if (cap > SIZE_MAX / 16) return E_NOMEM;
        cap *= 2;
    }
    for (c = 0; c < NCOLS; c++) {
        Col *col = &ps->cols[c];
        rc = buf_reserve(&col->valid, cap - col->valid.len);
        if (rc) return rc;
        if (col_kind(c) == K_BOOL) rc = buf_reserve(&col->vals, cap - col->vals.len);
        else rc = buf_reserve(&col->offs, cap * sizeof(int64_t) - col->offs.len);
        if (rc) return rc;
    }
    ps->row_cap = cap;
    return OK;
}

/* Append the current data length of every string/JSON column as its next offset. */
static void push_offsets(Parser *ps) {
    int c;
    for (c = 0; c < NCOLS; c++) {
        Col *col = &ps->cols[c];
        int64_t o;
        if (col_kind(c) == K_BOOL) continue;
        o = (int64_t)col->data.len; /* a length of malloc'd memory: below INT64_MAX */
        memcpy(col->offs.p + col->offs.len, &o, sizeof o);
        col->offs.len += sizeof o;
    }
}

static int columns_init(Parser *ps) {
    int rc = ensure_rows(ps);
    if (rc) return rc;
    push_offsets(ps);
    return OK;
}

static int finish_row(Parser *ps) {
    int c, rc;
    if (ps->nrows >= (size_t)INT32_MAX) return E_TOOBIG; /* record_index is int32 */
    rc = ensure_rows(ps);
    if (rc) return rc;
    for (c = 0; c < NCOLS; c++) {
        Col *col = &ps->cols[c];
        col->valid.p[col->valid.len++] = ps->row_valid[c];
        if (col_kind(c) == K_BOOL) col->vals.p[col->vals.len++] = ps->row_valid[c] ? ps->row_bool[c] : 0;
    }
    push_offsets(ps);
    ps->nrows++;
    return OK;
}

/* A readable address for offset off of b, even when b was never allocated (then off is 0). */
static const uint8_t NOTHING[1];
static inline const uint8_t *buf_at(const Buf *b, size_t off) { return b->p ? b->p + off : NOTHING; }

/* Row i of string/JSON column c of the file just parsed: 0 if null or missing, else 1
 * with its bytes in [*s, *s + *len). */
static inline int scratch_value(const Parser *ps, int c, size_t i, const uint8_t **s, size_t *len) {
    const Col *col = &ps->cols[c];
    int64_t a, b;
    if (!col->valid.p[i]) return 0;
    memcpy(&a, col->offs.p + i * sizeof a, sizeof a);
    memcpy(&b, col->offs.p + (i + 1) * sizeof b, sizeof b);
    *s = buf_at(&col->data, (size_t)a);
    *len = (size_t)(b - a);
    return 1;
}

/* -------------------------------------------------------------------- JSON scanning */

/*
 * Every scanning function takes the current position p (and the parser, for its end
 * and error code) and returns the position after what it consumed, or NULL with
 * ps->err set. Positions are kept in locals, never in memory that the output writes
 * could alias, so that the compiler can keep them in registers.
 */

static inline const uint8_t *fail(Parser *ps) {
    ps->err = E_INVALID;
    return NULL;
}

static inline const uint8_t *fail_rc(Parser *ps, int rc) {
    ps->err = rc;
    return NULL;
}

static inline const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* 1 for bytes that end the fast run inside a string: '"', '\\', controls, non-ASCII. */
static uint8_t STR_STOP[256];

static void init_tables(void) {
    int c;
    for (c = 0; c < 256; c++) STR_STOP[c] = (uint8_t)(c < 0x20 || c == '"' || c == '\\' || c >= 0x80);
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Nonzero iff one of the 8 bytes of w is '"', '\\', < 0x20 or >= 0x80. The lowest set
 * 0x80 bit marks the first such byte (little-endian load); later bits may be spurious. */
static inline uint64_t special_bytes(uint64_t w) {
    uint64_t q = w ^ (ONES * 0x22);
    uint64_t b = w ^ (ONES * 0x5C);
    uint64_t zq = (q - ONES) & ~q;
    uint64_t zb = (b - ONES) & ~b;
    uint64_t lt = (w - ONES * 0x20) & ~w;
    return (zq | zb | lt | w) & HIGHS;
}

static inline int little_endian(void) {
    const uint16_t one = 1;
    uint8_t first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* First byte at or after p (before end) that ends a plain run, or end. */
static inline const uint8_t *scan_plain(const uint8_t *p, const uint8_t *end) {
    if (little_endian()) {
        while (end - p >= 8) {
            uint64_t w, s;
            memcpy(&w, p, 8);
            s = special_bytes(w);
            if (s) return p + (__builtin_ctzll(s) >> 3);
            p += 8;
        }
    }
    while (p < end && !STR_STOP[*p]) p++;
    return p;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0 if invalid. */
static inline size_t utf8_seq(const uint8_t *p, const uint8_t *end) {
    size_t avail = (size_t)(end - p);
    uint8_t c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* <= U+10FFFF */
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static inline int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (bounds checked by the caller), or -1. */
static inline long hex4(const uint8_t *p) {
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
    if ((a | b | c | d) < 0) return -1;
    return ((long)a << 12) | ((long)b << 8) | ((long)c << 4) | (long)d;
}

static size_t utf8_encode(uint32_t cp, uint8_t *out) {
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * A sink for unescaped string bytes: a growable Buf, or a small fixed buffer (keys),
 * or nothing (validation only: pass NULL).
 */
typedef struct {
    Buf *buf;         /* growable output, or NULL */
    uint8_t *small;   /* fixed output (keys), or NULL */
    size_t small_cap;
    size_t small_len; /* may exceed small_cap: then the bytes are dropped */
} Sink;

/* Append n bytes from src; src_end bounds what may be read from src. Short copies are
 * done as one fixed-size copy (reading and writing a little past n, but only within
 * the input and within the buffer's capacity), which the compiler inlines. */
static inline int sink_put(Sink *s, const uint8_t *src, size_t n, const uint8_t *src_end) {
    if (s == NULL) return OK;
    if (s->buf) {
        Buf *b = s->buf;
        size_t readable = (size_t)(src_end - src), room = b->cap - b->len;
        if (n <= 16 && readable >= 16 && room >= 16) {
            memcpy(b->p + b->len, src, 16);
            b->len += n;
            return OK;
        }
        if (n <= 32 && readable >= 32 && room >= 32) {
            memcpy(b->p + b->len, src, 32);
            b->len += n;
            return OK;
        }
        return buf_append(b, src, n);
    }
    if (s->small_len <= s->small_cap && n <= s->small_cap - s->small_len)
        memcpy(s->small + s->small_len, src, n);
    if (n > SIZE_MAX - s->small_len) s->small_len = SIZE_MAX;
    else s->small_len += n;
    return OK;
}

/*
 * Parse a JSON string; p is at the opening quote. Validates UTF-8, control characters
 * and escapes (lone surrogates are rejected, as msgspec does), and writes the
 * unescaped bytes to the sink (if any).
 */
static const uint8_t *parse_string(Parser *ps, const uint8_t *p, Sink *sink) {
    const uint8_t *end = ps->end, *run;
    int rc;
    p++;
    run = p;
    for (;;) {
        uint8_t c;
        p = scan_plain(p, end);
        if (p >= end) return fail(ps);
        c = *p;
        if (c == '"') {
            rc = sink_put(sink, run, (size_t)(p - run), end);
            if (rc) return fail_rc(ps, rc);
            return p + 1;
        }
        if (c == '\\') {
            uint8_t tmp[4];
            size_t n = 1;
            rc = sink_put(sink, run, (size_t)(p - run), end);
            if (rc) return fail_rc(ps, rc);
            if (end - p < 2) return fail(ps);
            switch (p[1]) {
            case '"': tmp[0] = '"'; break;
            case '\\': tmp[0] = '\\'; break;
            case '/': tmp[0] = '/'; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                long cp, lo;
                if (end - p < 6) return fail(ps);
                cp = hex4(p + 2);
                if (cp < 0) return fail(ps);
                if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps); /* lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    /* must be followed by \uDC00-\uDFFF */
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u') return fail(ps);
                    lo = hex4(p + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
                n = utf8_encode((uint32_t)cp, tmp);
                p += 4; /* the hex digits; the backslash and 'u' are skipped below */
                break;
            }
            default:
                return fail(ps);
            }
            p += 2;
            rc = sink_put(sink, tmp, n, tmp + n);
            if (rc) return fail_rc(ps, rc);
            run = p;
            continue;
        }
        if (c < 0x20) return fail(ps); /* raw control character */
        {
            size_t n = utf8_seq(p, end);
            if (n == 0) return fail(ps);
            p += n;
        }
    }
}

static inline const uint8_t *match_literal(Parser *ps, const uint8_t *p, const char *lit, size_t n) {
    if ((size_t)(ps->end - p) < n || memcmp(p, lit, n) != 0) return fail(ps);
    return p + n;
}

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?  Whatever follows is checked by the
 * caller: only ',', ']', '}' or whitespace are accepted there (so "01", "1_0" fail). */
static const uint8_t *parse_number(Parser *ps, const uint8_t *p) {
    const uint8_t *end = ps->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return fail(ps);
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p)) p++;
    } else {
        return fail(ps);
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return fail(ps);
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return fail(ps);
        while (p < end && is_digit(*p)) p++;
    }
    return p;
}

/* Validate any JSON value at p (whitespace already skipped); depth is the nesting
 * depth of the container holding the value. Recursion is bounded by MAX_DEPTH. */
static const uint8_t *skip_value(Parser *ps, const uint8_t *p, int depth) {
    const uint8_t *end = ps->end;
    if (p >= end) return fail(ps);
    switch (*p) {
    case '{':
        if (depth >= MAX_DEPTH) return fail(ps);
        p = skip_ws(p + 1, end);
        if (p < end && *p == '}') return p + 1;
        for (;;) {
            if (p >= end || *p != '"') return fail(ps);
            p = parse_string(ps, p, NULL);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end || *p != ':') return fail(ps);
            p = skip_ws(p + 1, end);
            p = skip_value(ps, p, depth + 1);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return fail(ps);
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (*p == '}') return p + 1;
            return fail(ps);
        }
    case '[':
        if (depth >= MAX_DEPTH) return fail(ps);
        p = skip_ws(p + 1, end);
        if (p < end && *p == ']') return p + 1;
        for (;;) {
            p = skip_value(ps, p, depth + 1);
            if (p == NULL) return NULL;
            p = skip_ws(p, end);
            if (p >= end) return fail(ps);
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (*p == ']') return p + 1;
            return fail(ps);
        }
    case '"':
        return parse_string(ps, p, NULL);
    case 't':
        return match_literal(ps, p, "true", 4);
    case 'f':
        return match_literal(ps, p, "false", 5);
    case 'n':
        return match_literal(ps, p, "null", 4);
    default:
        return parse_number(ps, p);
    }
}

/* Parse an object key (p at its quote) into key[] (unescaped). *len is set to its
 * unescaped length; a length above MAX_KEY means "matches no schema key". */
static inline const uint8_t *parse_key(Parser *ps, const uint8_t *p, uint8_t *key, size_t *len) {
    const uint8_t *q = scan_plain(p + 1, ps->end);
    if (q < ps->end && *q == '"') { /* plain ASCII without escapes */
        size_t n = (size_t)(q - p - 1);
        if (n <= MAX_KEY) memcpy(key, p + 1, n);
        *len = n;
        return q + 1;
    }
    {
        Sink s = {NULL, key, MAX_KEY, 0};
        p = parse_string(ps, p, &s);
        *len = s.small_len;
        return p;
    }
}

/* Parse a typed object of level lv at p ('{'); depth is the nesting depth of this object. */
static const uint8_t *parse_struct(Parser *ps, const uint8_t *p, int lv, int depth) {
    const Level *L = &LEVELS[lv];
    const uint8_t *end = ps->end;
    uint32_t seen = 0;
    uint8_t key[MAX_KEY];
    size_t klen;
    int rc;
    if (depth > MAX_DEPTH) return fail(ps);
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    for (;;) {
        int fi;
        if (p >= end || *p != '"') return fail(ps);
        p = parse_key(ps, p, key, &klen);
        if (p == NULL) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return fail(ps);
        p = skip_ws(p + 1, end);
        if (p >= end) return fail(ps);
        fi = level_lookup(L, key, klen);
        if (fi < 0) {
            p = skip_value(ps, p, depth);
            if (p == NULL) return NULL;
        } else {
            const Field *f = &L->fields[fi];
            uint8_t c = *p;
            if (seen & (1u << fi)) return fail(ps); /* repeated schema key: leave it to msgspec */
            seen |= 1u << fi;
            switch (f->kind) {
            case K_STR:
                if (c == '"') {
                    Sink s = {&ps->cols[f->arg].data, NULL, 0, 0};
                    p = parse_string(ps, p, &s);
                    if (p == NULL) return NULL;
                    ps->row_valid[f->arg] = 1;
                } else if (c == 'n') {
                    p = match_literal(ps, p, "null", 4);
                    if (p == NULL) return NULL;
                } else {
                    return fail(ps); /* wrong type */
                }
                break;
            case K_BOOL:
                if (c == 't') {
                    p = match_literal(ps, p, "true", 4);
                    if (p == NULL) return NULL;
                    ps->row_valid[f->arg] = 1;
                    ps->row_bool[f->arg] = 1;
                } else if (c == 'f') {
                    p = match_literal(ps, p, "false", 5);
                    if (p == NULL) return NULL;
                    ps->row_valid[f->arg] = 1;
                    ps->row_bool[f->arg] = 0;
                } else if (c == 'n') {
                    p = match_literal(ps, p, "null", 4);
                    if (p == NULL) return NULL;
                } else {
                    return fail(ps); /* wrong type */
                }
                break;
            case K_JSON: {
                const uint8_t *start = p;
                size_t n;
                p = skip_value(ps, p, depth);
                if (p == NULL) return NULL;
                n = (size_t)(p - start);
                if (!(n == 4 && memcmp(start, "null", 4) == 0)) {
                    rc = buf_append(&ps->cols[f->arg].data, start, n);
                    if (rc) return fail_rc(ps, rc);
                    ps->row_valid[f->arg] = 1;
                }
                break;
            }
            case K_OBJ:
                if (c == '{') {
                    p = parse_struct(ps, p, f->arg, depth + 1);
                    if (p == NULL) return NULL;
                } else if (c == 'n') {
                    p = match_literal(ps, p, "null", 4);
                    if (p == NULL) return NULL;
                } else {
                    return fail(ps); /* wrong type */
                }
                break;
            default:
                return fail(ps);
            }
        }
        p = skip_ws(p, end);
        if (p >= end) return fail(ps);
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == '}') return p + 1;
        return fail(ps);
    }
}

/* The Records array at p ('['). */
static const uint8_t *parse_records(Parser *ps, const uint8_t *p) {
    const uint8_t *end = ps->end;
    int rc;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') return p + 1;
    for (;;) {
        if (p >= end || *p != '{') return fail(ps); /* a record must be an object */
        memset(ps->row_valid, 0, sizeof ps->row_valid);
        memset(ps->row_bool, 0, sizeof ps->row_bool);
        p = parse_struct(ps, p, L_RECORD, 3);
        if (p == NULL) return NULL;
        rc = finish_row(ps);
        if (rc) return fail_rc(ps, rc);
        p = skip_ws(p, end);
        if (p >= end) return fail(ps);
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == ']') return p + 1;
        return fail(ps);
    }
}

/* The whole document: 0 if clean, -1 with ps->err set otherwise. */
static int parse_file(Parser *ps) {
    const uint8_t *p = ps->p, *end = ps->end;
    int have_records = 0, rc;
    uint8_t key[MAX_KEY];
    size_t klen;
    rc = columns_init(ps);
    if (rc) {
        ps->err = rc;
        return -1;
    }
    p = skip_ws(p, end);
    if (p >= end || *p != '{') goto invalid;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') goto invalid; /* no Records */
    for (;;) {
        if (p >= end || *p != '"') goto invalid;
        p = parse_key(ps, p, key, &klen);
        if (p == NULL) return -1;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') goto invalid;
        p = skip_ws(p + 1, end);
        if (p >= end) goto invalid;
        if (klen == 7 && memcmp(key, "Records", 7) == 0) {
            if (have_records) goto invalid; /* repeated: leave it to msgspec */
            have_records = 1;
            if (*p != '[') goto invalid;
            p = parse_records(ps, p);
        } else {
            p = skip_value(ps, p, 1);
        }
        if (p == NULL) return -1;
        p = skip_ws(p, end);
        if (p >= end) goto invalid;
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        goto invalid;
    }
    p = skip_ws(p, end);
    if (p != end) goto invalid; /* trailing characters */
    if (!have_records) goto invalid;
    return 0;
invalid:
    ps->err = E_INVALID;
    return -1;
}


/* ------------------------------------------------------------------------ eventTime */

static inline int two_digits(const uint8_t *s, unsigned *v) {
    if (!is_digit(s[0]) || !is_digit(s[1])) return 0;
    *v = (unsigned)(s[0] - '0') * 10u + (unsigned)(s[1] - '0');
    return 1;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (Howard Hinnant's
 * days_from_civil, for years >= 1 only, which is all we need: 1900-9999). */
static int64_t days_from_civil(unsigned y, unsigned m, unsigned d) {
    unsigned yy = m <= 2 ? y - 1 : y;                                     /* years start in March */
    unsigned era = yy / 400;                                              /* 400-year cycles */
    unsigned yoe = yy - era * 400;                                        /* [0, 399] */
    unsigned doy = (153u * (m > 2 ? m - 3 : m + 9) + 2u) / 5u + d - 1u; /* [0, 365] */
    unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;            /* [0, 146096] */
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

/* eventTime in the one form the builder accepts, YYYY-MM-DDTHH:MM:SSZ exactly (ASCII
 * digits, a real date and time, years 1900-9999): 1 with microseconds since the epoch
 * in *us, else 0 (the file is declined; the Python path parses and reports odd times). */
static int canonical_time(const uint8_t *s, size_t len, int64_t *us) {
    static const unsigned char DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned century, yy, y, mo, d, h, mi, sec, month_days;
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return 0;
    if (!two_digits(s, &century) || !two_digits(s + 2, &yy) || !two_digits(s + 5, &mo) || !two_digits(s + 8, &d) ||
        !two_digits(s + 11, &h) || !two_digits(s + 14, &mi) || !two_digits(s + 17, &sec))
        return 0;
    y = century * 100u + yy;
    if (y < 1900 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return 0;
    month_days = DAYS[mo - 1];
    if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) month_days = 29;
    if (d < 1 || d > month_days) return 0;
    *us = (days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600u + mi * 60u + sec)) * 1000000;
    return 1;
}

/* ------------------------------------------------------------------------- hashing */

/* Secret keys of the hash, from os.urandom at import: values are attacker-controlled, so
 * the slots they land in must not be predictable (hash flooding). */
static uint64_t HASH_K0, HASH_K1, HASH_K2, HASH_K3;

/* The 128-bit product of a and b, folded to 64 bits (low half XOR high half). Unlike a
 * multiplication modulo 2^64, it mixes every input bit into every output bit. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__) && !defined(CTDECODE_NO_INT128)
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    uint64_t lo = (ll & 0xFFFFFFFFu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

/* Unaligned loads of 8 and 4 bytes, in the machine's byte order (any will do for hashing). */
static inline uint64_t load64(const uint8_t *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}
static inline uint64_t load32(const uint8_t *s) {
    uint32_t w;
    memcpy(&w, s, 4);
    return w;
}
/* Keyed 64-bit hash of [s, s+n): 16 bytes per multiplication (two independent chains of
 * them past 64 bytes), the last 1-16 bytes read as whole words that may overlap bytes
 * already taken (n is hashed in, so that this is still a function of the bytes), with no
 * read outside [s, s+n). */
static inline uint64_t hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = HASH_K0 ^ (uint64_t)n, a, b;
    if (n > 16) {
        if (n > 64) {
            uint64_t g = h ^ HASH_K3;
            do {
                h = fold_mul(load64(s) ^ HASH_K1, load64(s + 8) ^ h);
                g = fold_mul(load64(s + 16) ^ HASH_K2, load64(s + 24) ^ g);
                s += 32;
                n -= 32;
            } while (n > 64);
            h ^= g;
        }
        for (; n > 16; s += 16, n -= 16) h = fold_mul(load64(s) ^ HASH_K1, load64(s + 8) ^ h);
        a = load64(s + n - 16);
        b = load64(s + n - 8);
    } else if (n >= 8) {
        a = load64(s);
        b = load64(s + n - 8);
    } else if (n >= 4) {
        a = load32(s);
        b = load32(s + n - 4);
    } else if (n > 0) {
        a = (uint64_t)s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
        b = 0;
    } else {
        a = b = 0;
    }
    return fold_mul(fold_mul(a ^ HASH_K1, b ^ h), HASH_K2);
}

/* ---------------------------------------------------------------------- dictionaries */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH_READ(p) __builtin_prefetch((p), 0)
#define PREFETCH_WRITE(p) __builtin_prefetch((p), 1)
#else
#define PREFETCH_READ(p) ((void)(p))
#define PREFETCH_WRITE(p) ((void)(p))
#endif

/* A slot carries what a probe compares (hash bits, length, then the bytes at off), so that
 * finding a value touches the slot and the value's bytes, not the offsets array too. */
typedef struct {
    uint32_t code1; /* code + 1; 0 marks an empty slot */
    uint32_t check; /* the high 32 bits of the value's hash (the low bits chose the slot) */
    uint32_t off;   /* the value is bytes [off, off+len) of the dictionary's data */
    uint32_t len;   /* (data.len <= max_dict_bytes <= INT32_MAX: both fit) */
} Slot;

/* The distinct values of one category column in order of first appearance (an Arrow
 * string array: int32 offsets), and a hash table of them. Invariant: the table is
 * exactly what inserting codes 0..count-1 in order gives, so dropping the codes from
 * some count on (dict_rollback) leaves a valid table of the rest; every slot in use
 * points within data. */
typedef struct {
    Buf offs;      /* int32 offsets into data, count+1 of them (the first 0 added lazily) */
    Buf data;      /* the values' bytes */
    Buf hashes;    /* uint64 hash of each code, to refill a bigger table without rehashing */
    size_t count;  /* distinct values (codes 0..count-1) */
    Slot *slots;   /* linear probing, load <= 1/2 */
    size_t nslots; /* 0 or a power of two */
    int64_t last;  /* the code of the previous non-null row, -1 if none */
    int no_same;   /* 1: the rows are not compared with the row before first (see encode_rows) */
} Dict;

static void dict_free(Dict *d) {
    buf_free(&d->offs);
    buf_free(&d->data);
    buf_free(&d->hashes);
    block_free(d->slots, d->nslots * sizeof(Slot));
    d->slots = NULL;
    d->nslots = 0;
    d->count = 0;
    d->last = -1;
    d->no_same = 0;
}

/* Whether [a, a+n) and [b, b+n) hold the same bytes: overlapping word loads, all within
 * the n bytes, instead of a call to memcmp for the short values most columns have. */
static inline int same_bytes(const uint8_t *a, const uint8_t *b, size_t n) {
    if (n >= 8) {
        uint64_t x, y;
        size_t i;
        if (n > 64) return memcmp(a, b, n) == 0;
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) return 0;
        }
        memcpy(&x, a + n - 8, 8); /* the last 8 bytes (overlapping the loop's when n % 8) */
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 2) {
        uint16_t x0, y0, x1, y1;
        memcpy(&x0, a, 2);
        memcpy(&y0, b, 2);
        memcpy(&x1, a + n - 2, 2);
        memcpy(&y1, b + n - 2, 2);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return n == 0 || a[0] == b[0];
}

/* The bytes of code `code` (< count). */
static inline void dict_value(const Dict *d, size_t code, const uint8_t **s, size_t *len) {
    int32_t a, b;
    memcpy(&a, d->offs.p + code * sizeof a, sizeof a);
    memcpy(&b, d->offs.p + (code + 1) * sizeof b, sizeof b);
    *s = buf_at(&d->data, (size_t)a);
    *len = (size_t)(b - a);
}

/* A free slot for hash h (the value is known not to be in the table). */
static inline size_t dict_free_slot(const Slot *slots, size_t nslots, uint64_t h) {
    size_t mask = nslots - 1, i = (size_t)h & mask;
    while (slots[i].code1 != 0) i = (i + 1) & mask;
    return i;
}

/* A table with room for `need` values at load <= 1/2, refilled in code order. */
static int dict_grow(Dict *d, size_t need) {
    size_t n = d->nslots ? d->nslots : 64, code;
    Slot *slots;
    while (n / 2 < need) {
        if (n > SIZE_MAX / 2 / sizeof(Slot)) return E_NOMEM;
        n *= 2;
    }
    slots = (Slot *)block_alloc(n * sizeof *slots, 1);
    if (slots == NULL) return E_NOMEM;
    for (code = 0; code < d->count; code++) {
        int32_t a, b;
        uint64_t h;
        size_t i;
        memcpy(&a, d->offs.p + code * sizeof a, sizeof a);
        memcpy(&b, d->offs.p + (code + 1) * sizeof b, sizeof b);
        memcpy(&h, d->hashes.p + code * sizeof h, sizeof h);
        i = dict_free_slot(slots, n, h);
        slots[i].code1 = (uint32_t)(code + 1);
        slots[i].check = (uint32_t)(h >> 32);
        slots[i].off = (uint32_t)a;
        slots[i].len = (uint32_t)(b - a);
    }
    block_free(d->slots, d->nslots * sizeof(Slot));
    d->slots = slots;
    d->nslots = n;
    return OK;
}

/* The code of the value [s, s+len) with hash h = hash_bytes(s, len), added to the
 * dictionary if new. E_TOOBIG if the dictionary's data would grow past max_bytes;
 * E_NOMEM. The offsets' first 0 exists. */
static inline int dict_code(Dict *d, const uint8_t *s, size_t len, uint64_t h, size_t max_bytes, int32_t *code) {
    uint32_t check = (uint32_t)(h >> 32);
    size_t i = 0;
    int32_t end;
    int rc;
    if (d->nslots) {
        size_t mask = d->nslots - 1;
        for (i = (size_t)h & mask; d->slots[i].code1 != 0; i = (i + 1) & mask) {
            const Slot *slot = &d->slots[i];
            if (slot->check == check && slot->len == len && same_bytes(buf_at(&d->data, slot->off), s, len)) {
                d->last = (int64_t)(slot->code1 - 1u);
                *code = (int32_t)d->last;
                return OK;
            }
        }
    }
    /* A new value, for the empty slot i. Room first, so that nothing changes on failure. */
    if (len > max_bytes - d->data.len) return E_TOOBIG;
    if (d->count + 1 > d->nslots / 2) {
        rc = dict_grow(d, d->count + 1);
        if (rc) return rc;
        i = dict_free_slot(d->slots, d->nslots, h);
    }
    rc = buf_reserve(&d->offs, sizeof end);
    if (rc == OK) rc = buf_reserve(&d->hashes, sizeof h);
    if (rc == OK) rc = buf_reserve(&d->data, len);
    if (rc) return rc;
    d->slots[i].code1 = (uint32_t)(d->count + 1); /* count < rows <= INT32_MAX */
    d->slots[i].check = check;
    d->slots[i].off = (uint32_t)d->data.len; /* <= max_bytes <= INT32_MAX */
    d->slots[i].len = (uint32_t)len;
    if (len) memcpy(d->data.p + d->data.len, s, len);
    d->data.len += len;
    end = (int32_t)d->data.len;
    memcpy(d->offs.p + d->offs.len, &end, sizeof end);
    d->offs.len += sizeof end;
    memcpy(d->hashes.p + d->hashes.len, &h, sizeof h);
    d->hashes.len += sizeof h;
    d->last = (int64_t)d->count;
    *code = (int32_t)d->count;
    d->count++;
    return OK;
}

typedef struct {
    size_t count, data_len;
    int64_t last;
} DictMark;

static DictMark dict_mark(const Dict *d) {
    DictMark m;
    m.count = d->count;
    m.data_len = d->data.len;
    m.last = d->last;
    return m;
}

/* Back to the state of mark m: drop the values added since (their slots too). */
static void dict_rollback(Dict *d, const DictMark *m) {
    size_t i;
    if (d->count > m->count) {
        for (i = 0; i < d->nslots; i++) {
            if (d->slots[i].code1 > m->count) memset(&d->slots[i], 0, sizeof d->slots[i]);
        }
        d->count = m->count;
        d->data.len = m->data_len;
        d->offs.len = (m->count + 1) * sizeof(int32_t);
        d->hashes.len = m->count * sizeof(uint64_t);
    }
    d->last = m->last;
}

/* ------------------------------------------------------------------ accumulated columns */

enum { OUT_TIME = 0, OUT_BOOL = 1, OUT_STRING = 2, OUT_CATEGORY = 3 };

#define ACTOR NCOLS     /* the derived column, after the record columns */
#define NOUT (NCOLS + 1)

/* userIdentity.arn, .invokedBy, .principalId, .accountId: the first non-empty is the actor. */
static const int ACTOR_SOURCES[4] = {19, 24, 20, 21};

typedef struct {
    int kind;     /* OUT_* */
    size_t nulls; /* null rows so far: the validity bitmap is handed over only if > 0 */
    Buf valid;    /* validity bitmap, LSB-first, (rows + 7) / 8 bytes; not for eventTime, actor */
    Buf values;   /* OUT_TIME: int64 us; OUT_BOOL: value bits; OUT_STRING: int64 offsets
                     (rows + 1, the first 0 added lazily); OUT_CATEGORY: codes of `width`
                     bytes (-1 under a null) */
    unsigned width; /* OUT_CATEGORY: bytes per code, 1, 2 or 4; at least code_width(count) */
    Buf data;     /* OUT_STRING: the bytes */
    Dict dict;    /* OUT_CATEGORY */
} OutCol;

typedef struct {
    PyObject_HEAD
    int busy;               /* add() runs without the GIL: any other use is refused */
    size_t rows;            /* rows accumulated; changed only with the GIL held */
    size_t max_rows;        /* INT32_MAX (tests may lower the limits) */
    size_t max_dict_bytes;  /* INT32_MAX: dictionaries have int32 offsets */
    size_t max_string_bytes; /* INT64_MAX: large_string has int64 offsets */
    Parser ps;              /* the file being added (scratch, reused) */
    Buf times;              /* its eventTime values, int64 us, checked before the commit */
    Buf codes;              /* the file's int32 codes of one category column (scratch) */
    OutCol out[NOUT];
} Builder;

/* The actor of row i of the file just parsed (never null). */
static inline void actor_value(const Parser *ps, size_t i, const uint8_t **s, size_t *len) {
    int k;
    for (k = 0; k < 4; k++) {
        if (scratch_value(ps, ACTOR_SOURCES[k], i, s, len) && *len > 0) return;
    }
    *s = (const uint8_t *)"unknown";
    *len = 7;
}

/* Every eventTime of the file, canonical, into b->times; E_INVALID declines the file. */
static int check_times(Builder *b) {
    const Parser *ps = &b->ps;
    size_t i, n = ps->nrows;
    int rc;
    b->times.len = 0;
    rc = buf_reserve_items(&b->times, n, sizeof(int64_t));
    if (rc) return rc;
    for (i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        int64_t us;
        if (!scratch_value(ps, 0, i, &s, &len) || !canonical_time(s, len, &us)) return E_INVALID;
        memcpy(b->times.p + i * sizeof us, &us, sizeof us);
    }
    b->times.len = n * sizeof(int64_t);
    return OK;
}

/* The first offset of the offsets buffers (string columns, dictionaries), if missing.
 * Adding it changes nothing that can be seen. */
static int ensure_first_offsets(Builder *b) {
    int k, rc;
    for (k = 0; k < NOUT; k++) {
        OutCol *o = &b->out[k];
        if (o->kind == OUT_STRING && o->values.len == 0) {
            int64_t zero = 0;
            rc = buf_append(&o->values, &zero, sizeof zero);
            if (rc) return rc;
        } else if (o->kind == OUT_CATEGORY && o->dict.offs.len == 0) {
            int32_t zero = 0;
            rc = buf_append(&o->dict.offs, &zero, sizeof zero);
            if (rc) return rc;
        }
    }
    return OK;
}

/* Room in every accumulated buffer for the n rows of the file (only capacity changes). */
static int reserve_rows(Builder *b, size_t n) {
    size_t bitmap = (b->rows + n + 7) / 8; /* bytes of a bitmap after the commit */
    int k, rc = ensure_first_offsets(b);
    if (rc) return rc;
    for (k = 0; k < NOUT && rc == OK; k++) {
        OutCol *o = &b->out[k];
        if (k != 0 && k != ACTOR) rc = buf_reserve(&o->valid, bitmap - o->valid.len);
        if (rc) return rc;
        switch (o->kind) {
        case OUT_TIME:
            rc = buf_reserve_items(&o->values, n, sizeof(int64_t));
            break;
        case OUT_BOOL:
            rc = buf_reserve(&o->values, bitmap - o->values.len);
            break;
        case OUT_STRING:
            rc = buf_reserve_items(&o->values, n, sizeof(int64_t));
            if (rc == OK) rc = buf_reserve(&o->data, b->ps.cols[k].data.len);
            break;
        default:
            rc = buf_reserve_items(&o->values, n, o->width);
            break;
        }
    }
    if (rc == OK) rc = buf_reserve_items(&b->codes, n, sizeof(int32_t));
    return rc;
}

/* Append n flags (one byte each, 0 or 1) at bit `at` of an LSB-first bitmap that has room;
 * returns how many were 0. */
static size_t append_bits(Buf *bits, size_t at, const uint8_t *flags, size_t n) {
    size_t i, zeros = 0, bytes = (at + n + 7) / 8;
    memset(bits->p + bits->len, 0, bytes - bits->len); /* bits past `at` are already 0 */
    bits->len = bytes;
    for (i = 0; i < n; i++) {
        if (flags[i]) bits->p[(at + i) >> 3] |= (uint8_t)(1u << ((at + i) & 7));
        else zeros++;
    }
    return zeros;
}

/* A category column's rows go through a software pipeline when its hash table is bigger
 * than ENC_SMALL slots, so that the cache misses of many rows overlap (the tables and
 * dictionaries of the columns with many distinct values do not stay in the caches from one
 * file to the next): row j is read, compared with the non-null row before it and, if
 * different, hashed and its slot prefetched ENC_AHEAD rows before it is resolved;
 * ENC_DATA_AHEAD rows before, the table is read from that slot on (up to ENC_HINT_SLOTS
 * slots, to the first with the row's hash bits) and the first bytes of the value found are
 * prefetched: a hint only, resolving probes the table as it is then. Rows are resolved in
 * order, so the dictionary gets its values in order of first appearance.
 *
 * The comparison with the row before (then the code is that row's, d->last, with no hash
 * and no probe) pays when most rows repeat the one before (eventVersion, awsRegion,
 * recipientAccountId), and costs more than it saves (a mispredicted branch, bytes compared)
 * when few do: it is made in a file when at least 3/4 of the non-null rows of the column in
 * the last file encoded were repeats (always in the first). Only the speed depends on it. */
#define ENC_SMALL 1024    /* slots (16 KiB) */
#define ENC_AHEAD 32      /* a power of two */
#define ENC_DATA_AHEAD 16 /* < ENC_AHEAD */
#define ENC_HINT_SLOTS 4

/* Bytes per code for a dictionary of `count` values: what pandas chooses for as many
 * categories (int8 below 127, int16 below 32767, else int32), so that it can take the
 * codes as they are. */
static inline unsigned code_width(size_t count) { return count < 127 ? 1 : count < 32767 ? 2 : 4; }

static inline int32_t code_at(const uint8_t *p, size_t i, unsigned width) {
    int16_t v16;
    int32_t v32;
    switch (width) {
    case 1:
        return (int8_t)p[i];
    case 2:
        memcpy(&v16, p + 2 * i, sizeof v16);
        return v16;
    default:
        memcpy(&v32, p + 4 * i, sizeof v32);
        return v32;
    }
}

static inline void code_put(uint8_t *p, size_t i, unsigned width, int32_t code) {
    int16_t v16 = (int16_t)code;
    switch (width) {
    case 1:
        p[i] = (uint8_t)(int8_t)code;
        break;
    case 2:
        memcpy(p + 2 * i, &v16, sizeof v16);
        break;
    default:
        memcpy(p + 4 * i, &code, sizeof code);
        break;
    }
}

/* The n codes at p from `from` to `to` bytes each, in place (p has room for n * to bytes):
 * backwards when widening and forwards when narrowing, so that no code is overwritten
 * before it is read. The codes fit in `to` bytes. */
static void recode(uint8_t *p, size_t n, unsigned from, unsigned to) {
    size_t i;
    if (to > from) {
        for (i = n; i-- > 0;) code_put(p, i, to, code_at(p, i, from));
    } else {
        for (i = 0; i < n; i++) code_put(p, i, to, code_at(p, i, from));
    }
}

/* The `rows` codes of column o at `width` bytes each, in place (o->values has room for them). */
static void set_width(OutCol *o, size_t rows, unsigned width) {
    recode(o->values.p, rows, o->width, width);
    o->values.len = rows * width;
    o->width = width;
}

/* Store n int32 codes (each fits in width bytes) at dst, width bytes each. */
static void store_codes(uint8_t *dst, const int32_t *codes, size_t n, unsigned width) {
    size_t i;
    if (width == 4) {
        if (n) memcpy(dst, codes, n * sizeof *codes);
    } else if (width == 2) {
        for (i = 0; i < n; i++) {
            int16_t v = (int16_t)codes[i];
            memcpy(dst + 2 * i, &v, sizeof v);
        }
    } else {
        for (i = 0; i < n; i++) dst[i] = (uint8_t)(int8_t)codes[i];
    }
}

enum { ROW_NULL = 0, ROW_SAME = 1, ROW_HASHED = 2 };

typedef struct {
    const uint8_t *s;
    size_t len;
    uint64_t h;
    int kind; /* ROW_NULL; ROW_SAME as the non-null row before (whose code is then d->last); ROW_HASHED */
} Pending;

/* Row i of category column k of the file just parsed: 0 if null. */
static inline int category_value(const Builder *b, int k, size_t i, const uint8_t **s, size_t *len) {
    if (k != ACTOR) return scratch_value(&b->ps, k, i, s, len);
    actor_value(&b->ps, i, s, len);
    return 1;
}

/* Whether row [s, s+len) is the non-null row before it, [prev, prev+prev_len) (prev NULL:
 * none). */
static inline int same_as_prev(const uint8_t *s, size_t len, const uint8_t *prev, size_t prev_len) {
    return prev != NULL && len == prev_len && same_bytes(s, prev, len); /* lengths first: cheap */
}

/* The code of a row that is not compared with the row before (added if new), and whether
 * it is the code of the non-null row before all the same. */
static inline int code_row(Dict *d, const uint8_t *s, size_t len, uint64_t h, size_t max_bytes, int32_t *code,
                           size_t *repeats) {
    int64_t before = d->last;
    int rc = dict_code(d, s, len, h, max_bytes, code);
    if (rc == OK) *repeats += (size_t)(*code == before);
    return rc;
}

/* encode_rows for a table that stays in the caches: no pipeline. */
static int encode_small(Builder *b, int k, size_t n, int32_t *codes, const uint8_t *prev, size_t prev_len,
                        size_t *nonnull, size_t *repeats) {
    Dict *d = &b->out[k].dict;
    int same = !d->no_same;
    size_t i;
    int rc;
    for (i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        if (!category_value(b, k, i, &s, &len)) {
            codes[i] = -1;
            continue;
        }
        ++*nonnull;
        if (same && same_as_prev(s, len, prev, prev_len)) {
            codes[i] = (int32_t)d->last;
            ++*repeats;
        } else {
            rc = code_row(d, s, len, hash_bytes(s, len), b->max_dict_bytes, &codes[i], repeats);
            if (rc) return rc;
        }
        prev = s;
        prev_len = len;
    }
    return OK;
}

/* The hint of the pipeline for a row hashed h: prefetch the bytes of the value that the
 * table holds for h, if any. */
static inline void prefetch_value(const Dict *d, uint64_t h) {
    size_t mask = d->nslots - 1, at = (size_t)h & mask, tries;
    uint32_t check = (uint32_t)(h >> 32);
    const Slot *slot = &d->slots[at];
    for (tries = 1; tries < ENC_HINT_SLOTS && slot->code1 != 0 && slot->check != check; tries++)
        slot = &d->slots[(at + tries) & mask];
    if (slot->code1 != 0 && slot->check == check && slot->off < d->data.len) PREFETCH_READ(d->data.p + slot->off);
}

/* encode_rows through the pipeline (the table has more than ENC_SMALL slots). */
static int encode_pipelined(Builder *b, int k, size_t n, int32_t *codes, const uint8_t *prev, size_t prev_len,
                            size_t *nonnull, size_t *repeats) {
    Dict *d = &b->out[k].dict;
    Pending ring[ENC_AHEAD];
    int same = !d->no_same, rc;
    size_t j;
    for (j = 0; j < n + ENC_AHEAD; j++) {
        Pending *p;
        if (j >= ENC_AHEAD) { /* resolve row j - ENC_AHEAD (its ring entry is reused below) */
            p = &ring[j & (ENC_AHEAD - 1)];
            if (p->kind == ROW_NULL) {
                codes[j - ENC_AHEAD] = -1;
            } else if (p->kind == ROW_SAME) {
                codes[j - ENC_AHEAD] = (int32_t)d->last;
                ++*repeats;
            } else {
                rc = code_row(d, p->s, p->len, p->h, b->max_dict_bytes, &codes[j - ENC_AHEAD], repeats);
                if (rc) return rc;
            }
        }
        if (j >= ENC_DATA_AHEAD && j - ENC_DATA_AHEAD < n) {
            p = &ring[(j - ENC_DATA_AHEAD) & (ENC_AHEAD - 1)];
            if (p->kind == ROW_HASHED) prefetch_value(d, p->h);
        }
        if (j < n) { /* read row j */
            p = &ring[j & (ENC_AHEAD - 1)];
            if (!category_value(b, k, j, &p->s, &p->len)) {
                p->kind = ROW_NULL;
                continue;
            }
            ++*nonnull;
            if (same && same_as_prev(p->s, p->len, prev, prev_len)) {
                p->kind = ROW_SAME;
            } else {
                p->kind = ROW_HASHED;
                p->h = hash_bytes(p->s, p->len);
                PREFETCH_READ(&d->slots[(size_t)p->h & (d->nslots - 1)]);
            }
            prev = p->s;
            prev_len = p->len;
        }
    }
    return OK;
}

/* Codes of the file's n rows for category column k, written past the end of its codes
 * (reserve_rows made room at the column's width; the codes before are widened first if
 * the dictionary outgrows it); the dictionary gets the new values. */
static int encode_rows(Builder *b, int k, size_t n) {
    OutCol *o = &b->out[k];
    Dict *d = &o->dict;
    int32_t *codes = (int32_t *)(void *)b->codes.p;
    const uint8_t *prev = NULL; /* the non-null row before (NULL: none) */
    size_t prev_len = 0, nonnull = 0, repeats = 0;
    int rc;
    if (k != ACTOR && memchr(b->ps.cols[k].valid.p, 1, n) == NULL) { /* null throughout (n > 0) */
        memset(o->values.p + o->values.len, 0xff, n * o->width); /* -1 at any width */
        return OK;
    }
    /* The value of the row before this file's. It points into d->data, which an insertion
     * may move: it is used only up to the file's first non-null row, and every row resolved
     * before that one is null. */
    if (d->last >= 0) dict_value(d, (size_t)d->last, &prev, &prev_len);
    if (d->nslots <= ENC_SMALL)
        rc = encode_small(b, k, n, codes, prev, prev_len, &nonnull, &repeats);
    else
        rc = encode_pipelined(b, k, n, codes, prev, prev_len, &nonnull, &repeats);
    if (rc) return rc;
    if (nonnull > 0) d->no_same = repeats < nonnull - nonnull / 4;
    if (code_width(d->count) > o->width) { /* widen the codes so far (kept if rolled back: still valid) */
        unsigned width = code_width(d->count);
        size_t rows = o->values.len / o->width;
        if (rows + n > SIZE_MAX / width) return E_NOMEM;
        rc = buf_reserve(&o->values, (rows + n) * width - o->values.len);
        if (rc) return rc;
        set_width(o, rows, width);
    }
    store_codes(o->values.p + o->values.len, codes, n, o->width);
    return OK;
}

/* Append the checked file's n rows. Only encode_rows can fail, and then every dictionary
 * is rolled back, so that nothing of the file remains. */
static int commit_rows(Builder *b, size_t n) {
    DictMark marks[NOUT];
    const Parser *ps = &b->ps;
    size_t at = b->rows, i;
    int k, rc = OK;
    if (n == 0) return OK; /* {"Records":[]} */
    for (k = 0; k < NOUT; k++) {
        if (b->out[k].kind == OUT_CATEGORY) marks[k] = dict_mark(&b->out[k].dict);
    }
    for (k = 0; k < NOUT && rc == OK; k++) {
        if (b->out[k].kind == OUT_CATEGORY) rc = encode_rows(b, k, n);
    }
    if (rc) {
        for (k = 0; k < NOUT; k++) {
            if (b->out[k].kind == OUT_CATEGORY) dict_rollback(&b->out[k].dict, &marks[k]);
        }
        return rc;
    }
    /* Nothing fails from here on. */
    for (k = 0; k < NOUT; k++) {
        OutCol *o = &b->out[k];
        const Col *col = k < NCOLS ? &ps->cols[k] : NULL;
        if (k != 0 && k != ACTOR) o->nulls += append_bits(&o->valid, at, col->valid.p, n);
        switch (o->kind) {
        case OUT_TIME:
            if (n) memcpy(o->values.p + o->values.len, b->times.p, n * sizeof(int64_t));
            o->values.len += n * sizeof(int64_t);
            break;
        case OUT_BOOL:
            append_bits(&o->values, at, col->vals.p, n);
            break;
        case OUT_STRING: {
            int64_t base = (int64_t)o->data.len, off;
            for (i = 1; i <= n; i++) { /* the file's offsets past its first (0), moved by base */
                memcpy(&off, col->offs.p + i * sizeof off, sizeof off);
                off += base;
                memcpy(o->values.p + o->values.len, &off, sizeof off);
                o->values.len += sizeof off;
            }
            if (col->data.len) memcpy(o->data.p + o->data.len, col->data.p, col->data.len);
            o->data.len += col->data.len;
            break;
        }
        default: /* the codes are in place */
            o->values.len += n * o->width;
            break;
        }
    }
    return OK;
}

/* Parse, check and commit one file; runs without the GIL. OK with *added rows, E_NOMEM,
 * or another code for "declined" (then the accumulated state is unchanged). */
static int builder_add_span(Builder *b, const uint8_t *data, size_t len, size_t *added) {
    Parser *ps = &b->ps;
    size_t n;
    int k, rc;
    parser_reset(ps, data, len);
    if (parse_file(ps) != 0) return ps->err;
    n = ps->nrows;
    if (n > b->max_rows - b->rows) return E_TOOBIG;
    rc = check_times(b);
    if (rc) return rc;
    for (k = 0; k < NCOLS; k++) {
        const OutCol *o = &b->out[k];
        if (o->kind == OUT_STRING && ps->cols[k].data.len > b->max_string_bytes - o->data.len) return E_TOOBIG;
    }
    rc = reserve_rows(b, n);
    if (rc) return rc;
    rc = commit_rows(b, n);
    if (rc) return rc;
    *added = n;
    return OK;
}

/* -------------------------------------------------------------------- Buffer type */

/* A block handed to Python, exposed read-only through the buffer protocol (for
 * pyarrow.py_buffer, zero copy) and freed with the object. */
typedef struct {
    PyObject_HEAD
    uint8_t *ptr; /* NULL when len is 0 */
    Py_ssize_t len;
    size_t cap; /* the block's capacity (see block_free) */
} BufferObject;

static void Buffer_dealloc(PyObject *op) {
    BufferObject *self = (BufferObject *)op;
    block_free(self->ptr, self->cap);
    Py_TYPE(op)->tp_free(op);
}

static int Buffer_getbuffer(PyObject *op, Py_buffer *view, int flags) {
    static uint8_t empty[1]; /* a valid address for a zero-length block */
    BufferObject *self = (BufferObject *)op;
    return PyBuffer_FillInfo(view, op, self->ptr ? self->ptr : empty, self->len, 1, flags);
}

static PyBufferProcs Buffer_as_buffer = {Buffer_getbuffer, NULL};

static PyTypeObject BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "forensics._ctdecode.Buffer",
    .tp_basicsize = sizeof(BufferObject),
    .tp_dealloc = Buffer_dealloc,
    .tp_as_buffer = &Buffer_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A read-only block of memory made by Builder.finish() (buffer protocol, format 'B').",
};

/* An empty Buffer (filled by buffer_take once nothing can fail any more). */
static BufferObject *buffer_new(void) {
    BufferObject *bo = PyObject_New(BufferObject, &BufferType);
    if (bo == NULL) return NULL;
    bo->ptr = NULL;
    bo->len = 0;
    bo->cap = 0;
    return bo;
}

/* Move b's block into bo, shrunk to its length; b becomes empty. */
static void buffer_take(BufferObject *bo, Buf *b) {
    if (b->len == 0) {
        block_free(b->p, b->cap);
        bo->ptr = NULL;
        bo->cap = 0;
    } else {
        uint8_t *shrunk = b->len < b->cap ? (uint8_t *)block_resize(b->p, b->cap, b->len, b->len) : NULL;
        bo->ptr = shrunk ? shrunk : b->p; /* a failed shrink leaves the block as it was */
        bo->cap = shrunk ? b->len : b->cap;
    }
    bo->len = (Py_ssize_t)b->len; /* checked <= PY_SSIZE_T_MAX by the caller */
    b->p = NULL;
    b->len = b->cap = 0;
}

/* -------------------------------------------------------------------- Builder type */

static int column_number(PyObject *name) {
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(name, &size);
    int c;
    if (text == NULL) return -2;
    for (c = 0; c < NCOLS; c++) {
        if (strlen(COL_NAMES[c]) == (size_t)size && memcmp(COL_NAMES[c], text, (size_t)size) == 0) return c;
    }
    return -1;
}

static PyObject *Builder_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"categories", "_max_rows", "_max_bytes", NULL};
    PyObject *categories, *seq;
    Py_ssize_t max_rows = -1, max_bytes = -1, i;
    int is_category[NCOLS] = {0}, c;
    Builder *self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$nn:Builder", kwlist, &categories, &max_rows, &max_bytes))
        return NULL;
    if (PyUnicode_Check(categories) || PyBytes_Check(categories)) {
        PyErr_SetString(PyExc_TypeError, "categories must be a tuple of column names, not one string");
        return NULL;
    }
    seq = PySequence_Fast(categories, "categories must be a tuple of column names");
    if (seq == NULL) return NULL;
    for (i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(name)) {
            PyErr_Format(PyExc_TypeError, "category names are str, not %.100s", Py_TYPE(name)->tp_name);
            Py_DECREF(seq);
            return NULL;
        }
        c = column_number(name);
        if (c == -2) {
            Py_DECREF(seq);
            return NULL;
        }
        if (c < 0 || c == 0 || col_kind(c) == K_BOOL) {
            PyErr_Format(PyExc_ValueError, "%R %s", name,
                         c < 0 ? "is not a record column" : "cannot be dictionary-encoded");
            Py_DECREF(seq);
            return NULL;
        }
        is_category[c] = 1;
    }
    Py_DECREF(seq);
    self = (Builder *)type->tp_alloc(type, 0); /* zeroed: empty buffers */
    if (self == NULL) return NULL;
    self->max_rows = max_rows >= 0 && max_rows < INT32_MAX ? (size_t)max_rows : (size_t)INT32_MAX;
    self->max_dict_bytes = max_bytes >= 0 && max_bytes < INT32_MAX ? (size_t)max_bytes : (size_t)INT32_MAX;
    self->max_string_bytes = (uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? SIZE_MAX : (size_t)INT64_MAX;
    if (max_bytes >= 0 && (size_t)max_bytes < self->max_string_bytes) self->max_string_bytes = (size_t)max_bytes;
    for (c = 0; c < NOUT; c++) {
        OutCol *o = &self->out[c];
        if (c == 0) o->kind = OUT_TIME;
        else if (c < NCOLS && col_kind(c) == K_BOOL) o->kind = OUT_BOOL;
        else if (c == ACTOR || is_category[c]) o->kind = OUT_CATEGORY;
        else o->kind = OUT_STRING;
        o->dict.last = -1;
        o->width = 1;
    }
    return (PyObject *)self;
}

static void Builder_dealloc(PyObject *op) {
    Builder *self = (Builder *)op;
    int k;
    parser_free(&self->ps);
    buf_free(&self->times);
    buf_free(&self->codes);
    for (k = 0; k < NOUT; k++) {
        buf_free(&self->out[k].valid);
        buf_free(&self->out[k].values);
        buf_free(&self->out[k].data);
        dict_free(&self->out[k].dict);
    }
    Py_TYPE(op)->tp_free(op);
}

static int refuse_if_busy(const Builder *self) {
    if (!self->busy) return 0;
    PyErr_SetString(PyExc_RuntimeError, "this Builder is in use by another thread");
    return -1;
}

static PyObject *Builder_add(PyObject *op, PyObject *arg) {
    Builder *self = (Builder *)op;
    const uint8_t *data;
    uint8_t *copy = NULL;
    size_t len, added = 0;
    int rc;
    if (!PyBytes_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "add() takes a bytes object, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (refuse_if_busy(self)) return NULL;
    data = (const uint8_t *)PyBytes_AS_STRING(arg);
    len = (size_t)PyBytes_GET_SIZE(arg);
#ifdef CTDECODE_TESTING
    /* Sanitizer builds (bench/ctdecode_asan.sh) parse a copy in a malloc block of exactly
     * len bytes, so that any read past the end shows (a bytes object has a NUL after it). */
    copy = (uint8_t *)malloc(len ? len : 1);
    if (copy == NULL) return PyErr_NoMemory();
    memcpy(copy, data, len);
    data = copy;
#endif
    self->busy = 1;
    /* bytes are immutable and the caller holds a reference: safe to read without the GIL */
    Py_BEGIN_ALLOW_THREADS
    rc = builder_add_span(self, data, len, &added);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    free(copy);
    if (rc == OK) {
        self->rows += added;
        return PyLong_FromSize_t(added);
    }
    if (rc == E_NOMEM) return PyErr_NoMemory();
    Py_RETURN_NONE; /* declined: not clean, an odd eventTime, or too big */
}

static PyObject *Builder_finish(PyObject *op, PyObject *unused) {
    Builder *self = (Builder *)op;
    BufferObject *made[NOUT][4];
    Buf *source[NOUT][4];
    PyObject *result = NULL, *tuple = NULL;
    int k, j;
    (void)unused;
    if (refuse_if_busy(self)) return NULL;
    memset(made, 0, sizeof made);
    memset(source, 0, sizeof source);
    if (ensure_first_offsets(self)) return PyErr_NoMemory();
    for (k = 0; k < NOUT; k++) { /* codes wider than their dictionary needs (after a rollback) */
        OutCol *o = &self->out[k];
        if (o->kind == OUT_CATEGORY && o->width > code_width(o->dict.count))
            set_width(o, self->rows, code_width(o->dict.count));
    }
    /* First every Python object, while the builder is untouched (a failure leaves it so)... */
    result = PyDict_New();
    if (result == NULL) return NULL;
    for (k = 0; k < NOUT; k++) {
        OutCol *o = &self->out[k];
        Buf *parts[4] = {NULL, NULL, NULL, NULL}; /* NULL: None */
        int nparts;
        if (o->kind != OUT_TIME && k != ACTOR && o->nulls > 0) parts[0] = &o->valid;
        parts[1] = &o->values;
        nparts = 2;
        if (o->kind == OUT_STRING) {
            parts[2] = &o->data;
            nparts = 3;
        } else if (o->kind == OUT_CATEGORY) {
            parts[2] = &o->dict.offs;
            parts[3] = &o->dict.data;
            nparts = 4;
        }
        tuple = PyTuple_New(nparts);
        if (tuple == NULL) goto fail;
        for (j = 0; j < nparts; j++) {
            PyObject *item = Py_None;
            if (parts[j] != NULL) {
                if (parts[j]->len > (size_t)PY_SSIZE_T_MAX) {
                    PyErr_NoMemory();
                    goto fail;
                }
                made[k][j] = buffer_new();
                if (made[k][j] == NULL) goto fail;
                source[k][j] = parts[j];
                item = (PyObject *)made[k][j];
            }
            Py_INCREF(item);
            PyTuple_SET_ITEM(tuple, j, item);
        }
        if (PyDict_SetItemString(result, k == ACTOR ? "actor" : COL_NAMES[k], tuple) < 0) goto fail;
        Py_CLEAR(tuple);
    }
    /* ...then hand the blocks over and reset, which cannot fail. */
    for (k = 0; k < NOUT; k++) {
        OutCol *o = &self->out[k];
        for (j = 0; j < 4; j++) {
            if (made[k][j] != NULL) {
                buffer_take(made[k][j], source[k][j]);
                Py_DECREF(made[k][j]); /* the tuple holds it */
            }
        }
        buf_free(&o->valid); /* when it was not handed over (no null) */
        o->nulls = 0;
        dict_free(&o->dict);
        o->width = 1;
    }
    self->rows = 0;
    return result;
fail:
    for (k = 0; k < NOUT; k++) {
        for (j = 0; j < 4; j++) Py_XDECREF(made[k][j]); /* empty Buffers: nothing moved yet */
    }
    Py_XDECREF(tuple);
    Py_DECREF(result);
    return NULL;
}

static PyObject *Builder_get_rows(PyObject *op, void *closure) {
    (void)closure;
    return PyLong_FromSize_t(((Builder *)op)->rows);
}

static PyMethodDef Builder_methods[] = {
    {"add", Builder_add, METH_O,
     "add(data: bytes) -> int | None\n\n"
     "Append the rows of one clean CloudTrail file (inflated bytes) and return how many;\n"
     "None, with nothing appended, when the file is declined."},
    {"finish", Builder_finish, METH_NOARGS,
     "finish() -> dict[str, tuple]\n\n"
     "Hand over the accumulated columns as Buffers (see the module's source) and reset."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Builder_getset[] = {
    {"rows", Builder_get_rows, NULL, "Rows accumulated since the last finish().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "forensics._ctdecode.Builder",
    .tp_basicsize = sizeof(Builder),
    .tp_dealloc = Builder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Builder(categories: tuple[str, ...])\n\n"
              "Accumulates clean CloudTrail files into prepared Arrow columns; the named\n"
              "record columns are dictionary-encoded.",
    .tp_methods = Builder_methods,
    .tp_getset = Builder_getset,
    .tp_new = Builder_new,
};

/* ------------------------------------------------------------------ distinct strings */

/* The buffers of an Arrow large_string array, as all_distinct() is given them: row i of
 * the slice [offset, offset+length) is bytes [offs[offset+i], offs[offset+i+1]) of data
 * (int64 offsets in the machine's byte order, as Arrow keeps them in memory: little-endian
 * on x86-64 and ARM), null when bit offset+i of validity (LSB-first) is 0. */
typedef struct {
    const uint8_t *validity; /* NULL: no nulls */
    const uint8_t *offs;     /* offset+length+1 int64 entries */
    const uint8_t *data;
    size_t data_len, offset, length;
} StrArray;

enum { D_DISTINCT = 0, D_DUPLICATE, D_NOMEM, D_NEGATIVE, D_DECREASING, D_BEYOND, D_CHANGED };

static inline int64_t str_offset(const StrArray *a, size_t k) {
    int64_t v;
    memcpy(&v, a->offs + (a->offset + k) * sizeof v, sizeof v);
    return v;
}

static inline int str_valid(const StrArray *a, size_t i) {
    size_t bit = a->offset + i;
    return a->validity == NULL || ((a->validity[bit >> 3] >> (bit & 7)) & 1);
}

/* Row i's bytes. str_check() has checked every offset, but a writable buffer (pyarrow's
 * are) may change while the GIL is released: check again, never read out of bounds. */
static inline int str_value(const StrArray *a, size_t i, const uint8_t **s, size_t *len) {
    int64_t lo = str_offset(a, i), hi = str_offset(a, i + 1);
    if (lo < 0 || hi < lo || (uint64_t)hi > (uint64_t)a->data_len) return 0;
    *s = a->data + lo;
    *len = (size_t)(hi - lo);
    return 1;
}

/* Offsets non-negative, non-decreasing and within the data (D_DISTINCT), else the fault
 * and, for D_DECREASING, the entry *at that is below the one before; *valid: non-null rows. */
static int str_check(const StrArray *a, size_t *valid, size_t *at) {
    size_t i, count = 0;
    int64_t prev = str_offset(a, 0), cur;
    if (prev < 0) return D_NEGATIVE;
    for (i = 0; i < a->length; i++) {
        cur = str_offset(a, i + 1);
        if (cur < prev) {
            *at = a->offset + i + 1;
            return D_DECREASING;
        }
        prev = cur;
        count += (size_t)str_valid(a, i);
    }
    if ((uint64_t)prev > (uint64_t)a->data_len) return D_BEYOND;
    *valid = count;
    return D_DISTINCT;
}

/* 64x64 -> the high 64 bits of the 128-bit product: h scaled to [0, n) with no division. */
static inline uint64_t mul_hi(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__) && !defined(CTDECODE_NO_INT128)
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)a * b) >> 64);
#else
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* A set of row numbers: open addressing with linear probing over exactly 2*valid slots
 * (load <= 1/2; the start slot is the hash scaled to the table, so any size works), each
 * slot a uint32 when the rows fit (8 bytes per non-null row), else a uint64. A slot holds
 * row+1 (0: empty) in its low `rowbits` bits and as many bits of the row's hash as fit
 * above them: only rows whose bits match are compared byte for byte. */
typedef struct {
    uint32_t *s32; /* one of the two is the table */
    uint64_t *s64;
    size_t n;
    unsigned rowbits;
    uint64_t rowmask, tagmask;
} RowSet;

/* Row `row` = [s, s+len), hash h, start slot j: D_DUPLICATE if an equal row is in the set,
 * else added (D_DISTINCT); D_CHANGED if a row's offsets went bad. The set has a free slot. */
static inline int rowset_add(RowSet *t, const StrArray *a, size_t row, const uint8_t *s, size_t len, uint64_t h,
                             size_t j) {
    uint64_t tag = h & t->tagmask; /* the low bits of h: the start slot comes from the high ones */
    for (;; j = j + 1 == t->n ? 0 : j + 1) {
        const uint8_t *u;
        size_t ulen;
        uint64_t v = t->s32 ? t->s32[j] : t->s64[j];
        if (v == 0) {
            v = (tag << t->rowbits) | (uint64_t)(row + 1); /* < 2^(bits of a slot) */
            if (t->s32)
                t->s32[j] = (uint32_t)v;
            else
                t->s64[j] = v;
            return D_DISTINCT;
        }
        if ((v >> t->rowbits) != tag) continue;
        if (!str_value(a, (size_t)(v & t->rowmask) - 1, &u, &ulen)) return D_CHANGED;
        if (ulen == len && (len == 0 || memcmp(u, s, len) == 0)) return D_DUPLICATE;
    }
}

/* Rows hashed ahead of their insertion, their slots prefetched meanwhile: the table is
 * bigger than the caches, and this overlaps the misses of several rows. */
#define LOOKAHEAD 16

/* Whether a duplicate non-null value exists (D_DUPLICATE, found at the first repeat) or not
 * (D_DISTINCT), given `valid` non-null rows; D_NOMEM; D_CHANGED if a buffer changed since
 * str_check (more non-null rows, or bad offsets). Rows go into the set in order. */
static int distinct_scan(const StrArray *a, size_t valid) {
    struct {
        const uint8_t *s;
        size_t len, row, j;
        uint64_t h;
    } ahead[LOOKAHEAD];
    uint64_t len64 = (uint64_t)a->length;
    size_t width, i, taken = 0, next = 0, queued = 0;
    RowSet t;
    int rc = D_DISTINCT;
    if (valid < 2) return D_DISTINCT;
    memset(&t, 0, sizeof t);
    while ((len64 >> t.rowbits) != 0) t.rowbits++; /* row+1 <= length < 2^rowbits; rowbits <= 63 */
    width = t.rowbits <= 32 ? sizeof(uint32_t) : sizeof(uint64_t);
    t.rowmask = ((uint64_t)1 << t.rowbits) - 1;
    t.tagmask = ((uint64_t)1 << ((unsigned)(width * 8) - t.rowbits)) - 1; /* shift < 32: rowbits >= 2 */
    if (valid > SIZE_MAX / 2 / width) return D_NOMEM;
    t.n = 2 * valid;
    if (width == sizeof(uint32_t))
        t.s32 = (uint32_t *)block_alloc(t.n * width, 1);
    else
        t.s64 = (uint64_t *)block_alloc(t.n * width, 1);
    if (t.s32 == NULL && t.s64 == NULL) return D_NOMEM;
    for (i = 0; i < a->length && rc == D_DISTINCT; i++) {
        size_t k = (next + queued) % LOOKAHEAD;
        if (!str_valid(a, i)) continue;
        /* Never more rows than counted (then a free slot always remains: probing ends). */
        if (taken == valid || !str_value(a, i, &ahead[k].s, &ahead[k].len)) {
            rc = D_CHANGED;
            break;
        }
        taken++;
        ahead[k].row = i;
        ahead[k].h = hash_bytes(ahead[k].s, ahead[k].len);
        ahead[k].j = (size_t)mul_hi(ahead[k].h, (uint64_t)t.n);
        if (t.s32)
            PREFETCH_WRITE(t.s32 + ahead[k].j);
        else
            PREFETCH_WRITE(t.s64 + ahead[k].j);
        if (++queued == LOOKAHEAD) {
            rc = rowset_add(&t, a, ahead[next].row, ahead[next].s, ahead[next].len, ahead[next].h, ahead[next].j);
            next = (next + 1) % LOOKAHEAD;
            queued--;
        }
    }
    for (; queued > 0 && rc == D_DISTINCT; queued--) {
        rc = rowset_add(&t, a, ahead[next].row, ahead[next].s, ahead[next].len, ahead[next].h, ahead[next].j);
        next = (next + 1) % LOOKAHEAD;
    }
    block_free(t.s32, t.n * width);
    block_free(t.s64, t.n * width);
    return rc;
}

/* ------------------------------------------------------------------------- module */

/* all_distinct(validity, offsets, data, offset, length): see the header comment. */
static PyObject *ctdecode_all_distinct(PyObject *self, PyObject *args) {
    PyObject *objs[3], *result = NULL;
    Py_buffer views[3];
    int held[3] = {0, 0, 0};
    uint8_t *copies[3] = {NULL, NULL, NULL};
    const uint8_t *ptrs[3] = {NULL, NULL, NULL};
    Py_ssize_t offset, length;
    size_t end, need, valid = 0, at = 0;
    StrArray a;
    int k, rc;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOnn:all_distinct", &objs[0], &objs[1], &objs[2], &offset, &length)) return NULL;
    if (offset < 0 || length < 0) {
        PyErr_SetString(PyExc_ValueError, "all_distinct: offset and length must be >= 0");
        return NULL;
    }
    if (offset > PY_SSIZE_T_MAX - 1 - length) {
        PyErr_SetString(PyExc_ValueError, "all_distinct: offset + length is too large");
        return NULL;
    }
    for (k = 0; k < 3; k++) {
        if (k == 0 && objs[k] == Py_None) continue;
        if (PyObject_GetBuffer(objs[k], &views[k], PyBUF_SIMPLE) < 0) goto done;
        held[k] = 1;
    }
    end = (size_t)offset + (size_t)length; /* the rows the buffers must cover */
    if ((size_t)views[1].len / sizeof(int64_t) < end + 1) {
        PyErr_Format(PyExc_ValueError, "all_distinct: the offsets buffer has %zd bytes, %zu int64 offsets needed",
                     views[1].len, end + 1);
        goto done;
    }
    need = end / 8 + (end % 8 != 0);
    if (held[0] && (size_t)views[0].len < need) {
        PyErr_Format(PyExc_ValueError, "all_distinct: the validity bitmap has %zd bytes, %zu needed", views[0].len,
                     need);
        goto done;
    }
    for (k = 0; k < 3; k++) {
        if (!held[k]) continue;
        ptrs[k] = views[k].buf ? (const uint8_t *)views[k].buf : NOTHING;
#ifdef CTDECODE_TESTING
        /* Sanitizer builds read exact-size malloc copies, so that any read past an end shows
         * (Arrow pads its buffers to 64 bytes). */
        copies[k] = (uint8_t *)malloc(views[k].len ? (size_t)views[k].len : 1);
        if (copies[k] == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        memcpy(copies[k], ptrs[k], (size_t)views[k].len);
        ptrs[k] = copies[k];
#endif
    }
    a.validity = ptrs[0];
    a.offs = ptrs[1];
    a.data = ptrs[2];
    a.data_len = (size_t)views[2].len;
    a.offset = (size_t)offset;
    a.length = (size_t)length;
    /* The views keep the buffers alive (and unresizable) until released below. */
    Py_BEGIN_ALLOW_THREADS
    rc = str_check(&a, &valid, &at);
    if (rc == D_DISTINCT) rc = distinct_scan(&a, valid);
    Py_END_ALLOW_THREADS
    if (rc == D_DISTINCT || rc == D_DUPLICATE) {
        result = rc == D_DISTINCT ? Py_True : Py_False;
        Py_INCREF(result);
    } else if (rc == D_NOMEM) {
        PyErr_NoMemory();
    } else if (rc == D_NEGATIVE) {
        PyErr_SetString(PyExc_ValueError, "all_distinct: the first offset is negative");
    } else if (rc == D_DECREASING) {
        PyErr_Format(PyExc_ValueError, "all_distinct: offsets entry %zu is below the one before", at);
    } else if (rc == D_BEYOND) {
        PyErr_Format(PyExc_ValueError, "all_distinct: the offsets point past the data buffer (%zd bytes)", views[2].len);
    } else {
        PyErr_SetString(PyExc_ValueError, "all_distinct: a buffer changed during the scan");
    }
done:
    for (k = 0; k < 3; k++) {
        free(copies[k]);
        if (held[k]) PyBuffer_Release(&views[k]);
    }
    return result;
}

/* Validation only (no output): a floor for the cost of the scan, used by the benchmarks. */
static PyObject *ctdecode_validate(PyObject *self, PyObject *arg) {
    Parser ps;
    const uint8_t *p;
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "validate() takes a bytes object");
        return NULL;
    }
    memset(&ps, 0, sizeof ps);
    ps.p = (const uint8_t *)PyBytes_AS_STRING(arg);
    ps.end = ps.p + PyBytes_GET_SIZE(arg);
    p = skip_value(&ps, skip_ws(ps.p, ps.end), 0);
    if (p != NULL) p = skip_ws(p, ps.end);
    return PyBool_FromLong(p != NULL && p == ps.end);
}

static PyMethodDef methods[] = {
    {"validate", (PyCFunction)ctdecode_validate, METH_O,
     "validate(data: bytes) -> bool: whether data is one valid JSON value (strict UTF-8)."},
    {"all_distinct", (PyCFunction)ctdecode_all_distinct, METH_VARARGS,
     "all_distinct(validity, offsets, data, offset, length) -> bool: whether no non-null value of an Arrow\n"
     "large_string array (its buffers, validity may be None, and its slice) occurs twice."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_ctdecode", "Strict CloudTrail decoder to prepared Arrow columns.", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* The hash keys, from os.urandom (the operating system's random source). */
static int init_hash_keys(void) {
    uint64_t keys[4];
    PyObject *os = PyImport_ImportModule("os"), *random;
    if (os == NULL) return -1;
    random = PyObject_CallMethod(os, "urandom", "n", (Py_ssize_t)sizeof keys);
    Py_DECREF(os);
    if (random == NULL) return -1;
    if (!PyBytes_Check(random) || PyBytes_GET_SIZE(random) != (Py_ssize_t)sizeof keys) {
        Py_DECREF(random);
        PyErr_SetString(PyExc_RuntimeError, "_ctdecode: os.urandom gave no random bytes");
        return -1;
    }
    memcpy(keys, PyBytes_AS_STRING(random), sizeof keys);
    Py_DECREF(random);
    HASH_K0 = keys[0];
    HASH_K1 = keys[1] | 1; /* odd, never 0 */
    HASH_K2 = keys[2] | 1;
    HASH_K3 = keys[3];
    return 0;
}

PyMODINIT_FUNC PyInit__ctdecode(void) {
    PyObject *m;
    init_tables();
    if (init_levels() != 0) {
        PyErr_SetString(PyExc_RuntimeError, "_ctdecode: bad schema tables");
        return NULL;
    }
    if (init_hash_keys() < 0) return NULL;
    if (PyType_Ready(&BufferType) < 0 || PyType_Ready(&BuilderType) < 0) return NULL;
    m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0 || PyModule_AddType(m, &BufferType) < 0 ||
        PyModule_AddType(m, &BuilderType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
