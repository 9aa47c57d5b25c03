/*
 * _ctdecode: a strict, validating CloudTrail file decoder that writes Arrow column
 * buffers directly, without creating a Python object per value.
 *
 * decode(data: bytes) -> dict[str, tuple] | None
 *
 * Input: the inflated bytes of one CloudTrail file, {"Records":[{...}, ...]}.
 * Output: for each record column (forensics.records.RECORD_COLUMNS minus record_index)
 *   string column: (validity_bits, int32 offsets, data)
 *   JSON column:   (validity_bits, int64 offsets, data)   verbatim bytes of the value
 *   bool column:   (validity_bits, value_bits)
 * Bitmaps are LSB-first, as Arrow wants them.
 *
 * None means "not clean, use the msgspec path": any JSON syntax error anywhere, invalid
 * UTF-8 anywhere, raw control characters in strings, lone surrogate escapes, a value of
 * the wrong JSON type for a typed field, a repeated schema key, nesting deeper than
 * MAX_DEPTH, no Records list, a byte order mark, or a column too big for 32-bit offsets.
 *
 * Safety: every read is checked against the end of the input; buffer growth is checked
 * for overflow; recursion is bounded by MAX_DEPTH; the GIL is released only while the
 * parser works on the immutable bytes object and its own malloc'd buffers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    np = realloc(b->p, cap);
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

static inline int buf_byte(Buf *b, uint8_t c) {
    int rc;
    if (b->len == b->cap) {
        rc = buf_reserve(b, 1);
        if (rc) return rc;
    }
    b->p[b->len++] = c;
    return OK;
}

static void buf_free(Buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
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

/* -------------------------------------------------------------------------- columns */

typedef struct {
    Buf data;  /* string/JSON bytes */
    Buf offs;  /* int32 (strings) or int64 (JSON) offsets, n+1 of them */
    Buf valid; /* one byte per row, packed into bits at the end */
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
        int kind = col_kind(c);
        rc = buf_reserve(&col->valid, cap - col->valid.len);
        if (rc) return rc;
        if (kind == K_BOOL) {
            rc = buf_reserve(&col->vals, cap - col->vals.len);
        } else {
            size_t width = kind == K_JSON ? 8 : 4;
            rc = buf_reserve(&col->offs, cap * width - col->offs.len);
        }
        if (rc) return rc;
    }
    ps->row_cap = cap;
    return OK;
}

/* Append the current data length of every string/JSON column as its next offset. */
static int push_offsets(Parser *ps) {
    int c;
    for (c = 0; c < NCOLS; c++) {
        Col *col = &ps->cols[c];
        int kind = col_kind(c);
        if (kind == K_JSON) {
            int64_t o;
            if (col->data.len > (size_t)INT64_MAX) return E_TOOBIG;
            o = (int64_t)col->data.len;
            memcpy(col->offs.p + col->offs.len, &o, sizeof o);
            col->offs.len += sizeof o;
        } else if (kind == K_STR) {
            int32_t o;
            if (col->data.len > (size_t)INT32_MAX) return E_TOOBIG; /* Arrow string: 32-bit offsets */
            o = (int32_t)col->data.len;
            memcpy(col->offs.p + col->offs.len, &o, sizeof o);
            col->offs.len += sizeof o;
        }
    }
    return OK;
}

static int columns_init(Parser *ps) {
    int rc = ensure_rows(ps);
    if (rc) return rc;
    return push_offsets(ps);
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
    rc = push_offsets(ps);
    if (rc) return rc;
    ps->nrows++;
    return OK;
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

/* ------------------------------------------------------------------- Python results */

static PyObject *bytes_of(const Buf *b) {
    return PyBytes_FromStringAndSize(b->len ? (const char *)b->p : "", (Py_ssize_t)b->len);
}

/* Pack one byte per row into an LSB-first bitmap bytes object. */
static PyObject *bits_of(const Buf *b, size_t n) {
    size_t nbytes = (n + 7) / 8, i;
    PyObject *out;
    uint8_t *dst;
    if (nbytes > (size_t)PY_SSIZE_T_MAX) return PyErr_NoMemory();
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)nbytes);
    if (out == NULL) return NULL;
    dst = (uint8_t *)PyBytes_AS_STRING(out);
    memset(dst, 0, nbytes);
    for (i = 0; i < n && i < b->len; i++) {
        if (b->p[i]) dst[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    return out;
}

static PyObject *build_result(Parser *ps) {
    PyObject *result = PyDict_New(), *tup = NULL;
    int c;
    if (result == NULL) return NULL;
    for (c = 0; c < NCOLS; c++) {
        Col *col = &ps->cols[c];
        PyObject *a = bits_of(&col->valid, ps->nrows), *b = NULL, *d = NULL;
        if (a == NULL) goto fail;
        if (col_kind(c) == K_BOOL) {
            b = bits_of(&col->vals, ps->nrows);
            if (b == NULL) {
                Py_DECREF(a);
                goto fail;
            }
            tup = PyTuple_Pack(2, a, b);
        } else {
            b = bytes_of(&col->offs);
            d = b ? bytes_of(&col->data) : NULL;
            if (d == NULL) {
                Py_DECREF(a);
                Py_XDECREF(b);
                goto fail;
            }
            tup = PyTuple_Pack(3, a, b, d);
            Py_DECREF(d);
        }
        Py_DECREF(a);
        Py_DECREF(b);
        if (tup == NULL) goto fail;
        if (PyDict_SetItemString(result, COL_NAMES[c], tup) < 0) goto fail;
        Py_CLEAR(tup);
    }
    return result;
fail:
    Py_XDECREF(tup);
    Py_DECREF(result);
    return NULL;
}

/* Parse [data, data+len) and build the result; the caller keeps the memory alive and
 * unchanged until this returns. */
static PyObject *decode_span(const uint8_t *data, size_t len) {
    Parser *ps;
    PyObject *result;
    int rc;
    ps = (Parser *)calloc(1, sizeof *ps);
    if (ps == NULL) return PyErr_NoMemory();
    ps->p = data;
    ps->end = data + len;
    Py_BEGIN_ALLOW_THREADS
    rc = parse_file(ps);
    Py_END_ALLOW_THREADS
    if (rc) {
        int err = ps->err;
        parser_free(ps);
        free(ps);
        if (err == E_NOMEM) return PyErr_NoMemory();
        Py_RETURN_NONE; /* invalid, or too big for 32-bit offsets */
    }
    result = build_result(ps);
    parser_free(ps);
    free(ps);
    return result;
}

static PyObject *ctdecode_decode(PyObject *self, PyObject *arg) {
    (void)self;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "decode() takes a bytes object");
        return NULL;
    }
#ifdef CTDECODE_TESTING
    /* Sanitizer builds (bench/ctdecode_asan.sh) parse a copy in a malloc block of exactly
     * len bytes, so that any read past the end shows (a bytes object has a NUL after it). */
    {
        size_t len = (size_t)PyBytes_GET_SIZE(arg);
        uint8_t *copy = (uint8_t *)malloc(len ? len : 1);
        PyObject *result;
        if (copy == NULL) return PyErr_NoMemory();
        memcpy(copy, PyBytes_AS_STRING(arg), len);
        result = decode_span(copy, len);
        free(copy);
        return result;
    }
#else
    /* bytes are immutable and the caller holds a reference: safe to read without the GIL */
    return decode_span((const uint8_t *)PyBytes_AS_STRING(arg), (size_t)PyBytes_GET_SIZE(arg));
#endif
}

/* Validation only (no output): a floor for the cost of the scan, used by bench.py. */
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
    {"decode", (PyCFunction)ctdecode_decode, METH_O,
     "decode(data: bytes) -> dict[str, tuple] | None\n\n"
     "Arrow buffers of the record columns of a clean CloudTrail file, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_ctdecode", "Strict CloudTrail decoder to Arrow buffers.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ctdecode(void) {
    PyObject *m;
    init_tables();
    if (init_levels() != 0) {
        PyErr_SetString(PyExc_RuntimeError, "_ctdecode: bad schema tables");
        return NULL;
    }
    m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
