/*
 * forensics._edges, aggregate: the links summed up per edge (see _edges.c for the module).
 */
#include "_edges.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* The key of edge (u, v) of node codes below 2^31: below 2^62, and never 0 (an empty slot). */
static inline int64_t edge_key(int64_t u, int64_t v, int64_t nodes) { return u * nodes + v + 1; }

static inline uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline int leading_zeros(uint64_t b) { /* b != 0 */
#if defined(__GNUC__)
    return __builtin_clzll(b);
#else
    int n = 0;
    for (; !(b >> 63); b <<= 1) n++;
    return n;
#endif
}

static inline int lowest_bit(uint64_t b) { /* b != 0 */
#if defined(__GNUC__)
    return __builtin_ctzll(b);
#else
    int n = 0;
    for (; !(b & 1); b >>= 1) n++;
    return n;
#endif
}

/* ---------------------------------------------------------------- aggregate */

/* A zeroed hash table of `bytes` (freed with free_table). On Linux it is mapped in huge
 * pages where the system allows it: a link's slot is a random one of some 10-100 MB, and
 * with 4 KB pages nearly every one also misses the TLB (about a tenth of the pass). */
static void *alloc_table(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: 4 KB pages if refused */
    return p;
#else
    return calloc(bytes, 1);
#endif
}

static void free_table(void *p, size_t bytes) {
    if (!p) return;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    munmap(p, bytes);
#else
    (void)bytes;
    free(p);
#endif
}

/* One edge's sums, in its hash table slot (48 bytes). */
typedef struct {
    int64_t key;          /* edge_key(src, dst); 0: an empty slot */
    int64_t first, last;  /* least time (NaT left out) and greatest, INT64_MAX / INT64_MIN while none */
    uint64_t bits;        /* the edge's names at bit positions 0..63 (see Sums) */
    int32_t count, errors;
    int32_t edge;         /* the edge's number: edges are numbered in the order of their first link */
    int8_t relation;
} Slot;

/* The hash table (linear probing, at most half full) and the edges' names. Names get bit
 * positions most frequent first (by events), so that nearly every link sets a bit of its
 * slot's own word; a name at position 64 or later sets a bit of its edge's side block
 * (`words` words, made when the edge first needs it). */
typedef struct {
    Slot *slot;
    uint64_t mask;
    Py_ssize_t edges;
    int32_t *position, *rank_at; /* position of each rank (a missing name: INT32_MAX), and back */
    Py_ssize_t words;            /* words of a side block: positions 64.. of the names */
    int32_t *block_of;           /* per edge, its side block (-1: none yet); only when words > 0 */
    uint64_t *blocks;
    Py_ssize_t blocks_used, blocks_cap;
} Sums;

typedef struct {
    int64_t events;
    int32_t rank;
} Frequency;

static int more_frequent(const void *a, const void *b) {
    const Frequency *x = a, *y = b;
    if (x->events != y->events) return x->events > y->events ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Twice the slots, the edges moved over (and room for twice the edges' side block numbers). */
static int grow(Sums *t) {
    uint64_t cap = (t->mask + 1) * 2;
    Slot *bigger = alloc_table(cap * sizeof *bigger);
    if (!bigger) return -1;
    if (t->words) {
        int32_t *more = realloc(t->block_of, cap / 2 * sizeof *more);
        if (!more) { free_table(bigger, cap * sizeof *bigger); return -1; }
        t->block_of = more;
    }
    for (uint64_t h = 0; h <= t->mask; h++) {
        if (!t->slot[h].key) continue;
        uint64_t to = mix((uint64_t)t->slot[h].key) & (cap - 1);
        while (bigger[to].key) to = (to + 1) & (cap - 1);
        bigger[to] = t->slot[h];
    }
    free_table(t->slot, (t->mask + 1) * sizeof *t->slot);
    t->slot = bigger;
    t->mask = cap - 1;
    return 0;
}

/* The side block of `edge`, made (zeroed) the first time. NULL when out of memory. */
static uint64_t *side_block(Sums *t, int32_t edge) {
    if (t->block_of[edge] < 0) {
        if (t->blocks_used == t->blocks_cap) {
            Py_ssize_t cap = t->blocks_cap ? t->blocks_cap * 2 : 64;
            uint64_t *more = realloc(t->blocks, (size_t)(cap * t->words) * sizeof *more);
            if (!more) return NULL;
            t->blocks = more;
            t->blocks_cap = cap;
        }
        memset(t->blocks + t->blocks_used * t->words, 0, (size_t)t->words * sizeof *t->blocks);
        t->block_of[edge] = (int32_t)t->blocks_used++;
    }
    return t->blocks + (Py_ssize_t)t->block_of[edge] * t->words;
}

/* One part of the links (see aggregate): link i where mask[i] (mask NULL: every i), from
 * event row[i] (row NULL: event i). */
typedef struct {
    const int32_t *src, *dst;
    const int64_t *row;
    const uint8_t *mask;
    Py_ssize_t n;
    int8_t relation;
} Part;

/* How many of a part's entries are picked out at a time (into the cache) before their links are summed. */
#define CHUNK 1024

/* Links picked out of a part (sources, targets, event rows), all of one relation. */
typedef struct {
    int32_t u[CHUNK], v[CHUNK];
    int64_t row[CHUNK];
    Py_ssize_t n;
    int8_t relation;
} Chunk;

/* The links among entries from .. from + CHUNK of part p, without branches on the mask. */
static void pick(const Part *p, Py_ssize_t from, Chunk *c) {
    Py_ssize_t end = p->n - from < CHUNK ? p->n : from + CHUNK, n = 0;
    for (Py_ssize_t i = from; i < end; i++) {
        c->u[n] = p->src[i];
        c->v[n] = p->dst[i];
        c->row[n] = p->row ? p->row[i] : i;
        n += p->mask ? p->mask[i] != 0 : 1;
    }
    c->n = n;
    c->relation = p->relation;
}

/* About how many distinct edges the links make, so that the table is made big enough at
 * once (growing it, a bigger table zeroed and every edge moved, costs more than this pass);
 * sets `bad` to the first link whose node codes or event row are out of range, or that is
 * one too many for the edges' int32 counts, if any. The estimate is HyperLogLog's raw one with 4096
 * registers: within a few percent from some ten thousand edges on; below that it is too
 * high, which costs a few hundred KB. */
static double estimate_edges(const Part *parts, Py_ssize_t count, Py_ssize_t nodes, Py_ssize_t events,
                             Py_ssize_t *bad) {
    uint8_t most[4096] = {0}; /* per register, the most leading zeros + 1 of the hashes' other bits */
    Py_ssize_t n = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        const Part *p = &parts[k];
        for (Py_ssize_t i = 0; i < p->n; i++) { /* an entry the mask leaves out counts for nothing */
            int64_t u = p->src[i], v = p->dst[i], r = p->row ? p->row[i] : i;
            int in = p->mask ? p->mask[i] != 0 : 1;
            if (in & ((u < 0) | (u >= nodes) | (v < 0) | (v >= nodes) | (r < 0) | (r >= events) | (n == INT32_MAX))) {
                *bad = n;
                return 0;
            }
            uint64_t hash = mix((uint64_t)edge_key(u, v, nodes));
            uint8_t zeros = (uint8_t)((leading_zeros(hash << 12 | 1ULL << 11) + 1) * in);
            if (zeros > most[hash >> 52]) most[hash >> 52] = zeros;
            n += in;
        }
    }
    double sum = 0;
    for (int j = 0; j < 4096; j++) sum += 1.0 / (double)(1ULL << most[j]);
    double estimate = 0.7213 / (1 + 1.079 / 4096) * 4096.0 * 4096.0 / sum;
    return estimate < (double)n ? estimate : (double)n;
}

/* Bit positions for the names by how many events have each (`rank`, checked), most first;
 * sets `bad` to the first event whose rank is out of range, if any. */
static void place_names(Sums *t, Py_ssize_t events, Py_ssize_t names, const int32_t *rank, Frequency *frequency,
                        Py_ssize_t *bad) {
    for (Py_ssize_t i = 0; i < events; i++) {
        if (rank[i] < 0 || rank[i] > names) {
            *bad = i;
            return;
        }
        frequency[rank[i]].events++;
    }
    for (Py_ssize_t k = 0; k < names; k++) frequency[k].rank = (int32_t)k;
    qsort(frequency, (size_t)names, sizeof *frequency, more_frequent);
    for (Py_ssize_t k = 0; k < names; k++) {
        t->position[frequency[k].rank] = (int32_t)k;
        t->rank_at[k] = frequency[k].rank;
    }
    t->position[names] = INT32_MAX; /* a missing name is in no set */
}

/* An empty table of at least `slots` slots (a power of two), with room for its edges' side block numbers. */
static int make_table(Sums *t, double slots) {
    uint64_t cap = 16;
    while ((double)cap < slots) cap <<= 1;
    t->slot = alloc_table(cap * sizeof *t->slot);
    t->mask = cap - 1;
    t->block_of = t->words ? malloc(cap / 2 * sizeof *t->block_of) : NULL;
    return !t->slot || (t->words && !t->block_of) ? -1 : 0;
}

/* Sums up a chunk's links (checked by estimate_edges), marking each link's event in
 * `linked`. Returns 0, or -1 when out of memory. */
static int sum_chunk(Sums *t, const Chunk *c, Py_ssize_t nodes, Py_ssize_t names, const int64_t *times,
                     const uint8_t *failed, const int32_t *rank, uint8_t *linked) {
    Py_ssize_t links = c->n;
    uint64_t hashes[AHEAD]; /* of the next links' keys, computed when their slots are fetched */
    for (Py_ssize_t i = 0; i < AHEAD && i < links; i++) hashes[i] = mix((uint64_t)edge_key(c->u[i], c->v[i], nodes));
    for (Py_ssize_t i = 0; i < links; i++) {
        uint64_t hash = hashes[i % AHEAD];
        if (i + AHEAD < links) {
            uint64_t next = mix((uint64_t)edge_key(c->u[i + AHEAD], c->v[i + AHEAD], nodes));
            const Slot *ahead = &t->slot[next & t->mask];
            hashes[i % AHEAD] = next;
            PREFETCH(ahead);
            PREFETCH((const char *)ahead + sizeof *ahead - 1); /* a slot may straddle two cache lines */
        }
        int64_t r = c->row[i], key = edge_key(c->u[i], c->v[i], nodes);
        linked[r] = 1;
        uint64_t h = hash & t->mask;
        while (t->slot[h].key != key && t->slot[h].key) h = (h + 1) & t->mask;
        Slot *e = &t->slot[h];
        if (!e->key) {
            if ((uint64_t)(t->edges + 1) * 2 > t->mask + 1) {
                if (grow(t) < 0) return -1;
                for (h = hash & t->mask; t->slot[h].key; h = (h + 1) & t->mask) {}
                e = &t->slot[h];
            }
            e->key = key;
            e->first = INT64_MAX;
            e->last = INT64_MIN;
            e->edge = (int32_t)t->edges++; /* the rest is zero: relation 0 as numpy's maximum.at over zeros */
            if (t->words) t->block_of[e->edge] = -1;
        }
        /* without branches: whether a time is a new first or last is a coin toss */
        int64_t when = times[r], known = when == INT64_MIN ? INT64_MAX : when; /* NaT is never the first */
        e->count++;
        e->first = known < e->first ? known : e->first;
        e->last = when > e->last ? when : e->last;
        e->errors += failed[r] != 0;
        e->relation = c->relation > e->relation ? c->relation : e->relation;
        int32_t k = rank[r], p = k >= 0 && k <= names ? t->position[k] : INT32_MAX; /* checked, unless changed since */
        if (p < 64) {
            e->bits |= 1ULL << p;
        } else if (p < names) {
            uint64_t *block = side_block(t, e->edge);
            if (!block) return -1;
            block[(p - 64) / 64] |= 1ULL << (p % 64);
        }
    }
    return 0;
}

/* The pass over the parts' links, a chunk at a time. Returns 0, or -1 when out of memory. */
static int sum_links(Sums *t, const Part *parts, Py_ssize_t count, Py_ssize_t nodes, Py_ssize_t names,
                     const int64_t *times, const uint8_t *failed, const int32_t *rank, uint8_t *linked) {
    Chunk *c = malloc(sizeof *c);
    if (!c) return -1;
    for (Py_ssize_t k = 0; k < count; k++) {
        for (Py_ssize_t from = 0; from < parts[k].n; from += CHUNK) {
            pick(&parts[k], from, c);
            if (sum_chunk(t, c, nodes, names, times, failed, rank, linked) < 0) {
                free(c);
                return -1;
            }
        }
    }
    free(c);
    return 0;
}

/* Whether edges a and b have the same names. A side block is made only for a bit, so an edge
 * without one has none of those names. */
static int same_names(const Sums *t, const uint64_t *bits, Py_ssize_t a, Py_ssize_t b) {
    if (bits[a] != bits[b]) return 0;
    if (!t->words) return 1;
    int32_t x = t->block_of[a], y = t->block_of[b];
    if (x < 0 || y < 0) return x == y;
    return !memcmp(t->blocks + (Py_ssize_t)x * t->words, t->blocks + (Py_ssize_t)y * t->words,
                   (size_t)t->words * sizeof *t->blocks);
}

/* Number the edges' name sets in the order of the first edge having each (set_of), and
 * note that edge (first_edge). Returns the number of sets, or -1 when out of memory. */
static Py_ssize_t number_sets(const Sums *t, const uint64_t *bits, Py_ssize_t n, int32_t *set_of,
                              int32_t *first_edge) {
    uint64_t cap = 16;
    while (cap < (uint64_t)n * 2) cap <<= 1;
    int32_t *table = malloc(cap * sizeof *table);
    if (!table) return -1;
    memset(table, 0xff, cap * sizeof *table); /* -1: empty */
    Py_ssize_t sets = 0;
    for (Py_ssize_t e = 0; e < n; e++) {
        uint64_t h = mix(bits[e]);
        if (t->words && t->block_of[e] >= 0)
            for (Py_ssize_t w = 0; w < t->words; w++) h = mix(h ^ t->blocks[(Py_ssize_t)t->block_of[e] * t->words + w]);
        for (h &= cap - 1; table[h] >= 0 && !same_names(t, bits, e, first_edge[table[h]]); h = (h + 1) & (cap - 1)) {}
        if (table[h] < 0) {
            table[h] = (int32_t)sets;
            first_edge[sets++] = (int32_t)e;
        }
        set_of[e] = table[h];
    }
    free(table);
    return sets;
}

/* The names of edge e as a tuple of `spelled` strings in rank order (= sorted; `scratch`: a
 * zeroed bit per rank, left zeroed), untracked by the garbage collector: strings refer to
 * nothing, so a dict holding only these tuples and other untracked values is never tracked,
 * and collections never walk the edge dicts. */
static PyObject *spell(const Sums *t, const uint64_t *bits, Py_ssize_t e, PyObject *spelled, uint64_t *scratch) {
    Py_ssize_t n = 0;
    for (uint64_t b = bits[e]; b; b &= b - 1, n++) {
        int32_t r = t->rank_at[lowest_bit(b)];
        scratch[r / 64] |= 1ULL << (r % 64);
    }
    if (t->words && t->block_of[e] >= 0) {
        const uint64_t *block = t->blocks + (Py_ssize_t)t->block_of[e] * t->words;
        for (Py_ssize_t w = 0; w < t->words; w++) {
            for (uint64_t b = block[w]; b; b &= b - 1, n++) {
                int32_t r = t->rank_at[64 + 64 * w + lowest_bit(b)];
                scratch[r / 64] |= 1ULL << (r % 64);
            }
        }
    }
    PyObject *tuple = PyTuple_New(n);
    for (Py_ssize_t w = 0, k = 0; k < n; w++) { /* the ranks in order, the scratch bits cleared */
        for (uint64_t b = scratch[w]; b; b &= b - 1, k++)
            if (tuple) PyTuple_SET_ITEM(tuple, k, Py_NewRef(PyTuple_GET_ITEM(spelled, 64 * w + lowest_bit(b))));
        scratch[w] = 0;
    }
    if (tuple) PyObject_GC_UnTrack(tuple); /* the empty tuple is never tracked: UnTrack checks */
    return tuple;
}

/* The parts' arrays, checked, into `part` (their buffers into `b`, four per part). */
static int get_parts(PyObject *tuple, Part *part, Py_buffer *b) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(tuple); k++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, k);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 5) {
            PyErr_SetString(PyExc_TypeError, "aggregate: each part must be a tuple (src, dst, row, mask, relation)");
            return -1;
        }
        PyObject *row = PyTuple_GET_ITEM(item, 2), *mask = PyTuple_GET_ITEM(item, 3), *code = PyTuple_GET_ITEM(item, 4);
        if (!PyLong_Check(code)) {
            PyErr_Format(PyExc_TypeError, "aggregate: part %zd: relation must be an int", k);
            return -1;
        }
        long relation = PyLong_AsLong(code);
        if (relation == -1 && PyErr_Occurred()) return -1;
        if (relation < 0 || relation > INT8_MAX) {
            PyErr_Format(PyExc_ValueError, "aggregate: part %zd: relation %ld out of range", k, relation);
            return -1;
        }
        Py_buffer *pb = &b[4 * k];
        if (edges_get_array(PyTuple_GET_ITEM(item, 0), &pb[0], "src", 'i', 4, -1)) return -1;
        Py_ssize_t n = pb[0].len / 4;
        if (edges_get_array(PyTuple_GET_ITEM(item, 1), &pb[1], "dst", 'i', 4, n) ||
            (row != Py_None && edges_get_array(row, &pb[2], "row", 'i', 8, n)) ||
            (mask != Py_None && edges_get_array(mask, &pb[3], "mask", '?', 1, n)))
            return -1;
        part[k] = (Part){pb[0].buf, pb[1].buf, row == Py_None ? NULL : pb[2].buf, mask == Py_None ? NULL : pb[3].buf,
                         n, (int8_t)relation};
    }
    return 0;
}

PyObject *edges_aggregate(PyObject *self, PyObject *args) {
    (void)self;
    Py_ssize_t nodes, slots = 0; /* slots: the table's first size, for tests (0: from the estimate) */
    PyObject *spelled, *list, *arg[3];
    if (!PyArg_ParseTuple(args, "nO!O!OOO|n:aggregate", &nodes, &PyTuple_Type, &spelled, &PyList_Type, &list,
                          &arg[0], &arg[1], &arg[2], &slots))
        return NULL;
    PyObject *parts = PyList_AsTuple(list); /* the parts stay as they are while in use */
    if (!parts) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(parts);
    Py_buffer b[3] = {{0}}, *pb = calloc((size_t)(4 * count + 1), sizeof *pb);
    Part *part = malloc((size_t)(count + 1) * sizeof *part);
    PyObject *out[10] = {NULL}, *result = NULL;
    void *p[9];
    Sums t = {0};
    uint64_t *bits = NULL;
    int32_t *first_edge = NULL;
    uint64_t *scratch = NULL;
    Frequency *frequency = NULL;
    Py_ssize_t names = PyTuple_GET_SIZE(spelled);
    if (!pb || !part) {
        PyErr_NoMemory();
        goto done;
    }
    if (get_parts(parts, part, pb) || edges_get_array(arg[0], &b[0], "times", 'i', 8, -1) ||
        edges_get_array(arg[1], &b[1], "failed", '?', 1, b[0].len / 8) ||
        edges_get_array(arg[2], &b[2], "rank", 'i', 4, b[0].len / 8))
        goto done;
    Py_ssize_t events = b[0].len / 8;
    if (nodes < 0 || nodes > INT32_MAX || names >= INT32_MAX) { /* keys below 2^62 */
        PyErr_SetString(PyExc_ValueError, "aggregate: node count out of range, or too many names");
        goto done;
    }
    for (Py_ssize_t k = 0; k < names; k++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(spelled, k))) {
            PyErr_SetString(PyExc_TypeError, "aggregate: spelled must be a tuple of str");
            goto done;
        }
    }
    t.words = names > 64 ? (names - 64 + 63) / 64 : 0;
    t.position = malloc((size_t)(names + 1) * sizeof *t.position);
    t.rank_at = malloc((size_t)(names + 1) * sizeof *t.rank_at);
    frequency = calloc((size_t)(names + 1), sizeof *frequency);
    scratch = calloc((size_t)names / 64 + 1, sizeof *scratch);
    if (!t.position || !t.rank_at || !frequency || !scratch || !(out[9] = edges_new_bytes(events, &p[8]))) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t bad_link = -1, bad_event = -1;
    int failure = 0;
    Py_BEGIN_ALLOW_THREADS
    memset(p[8], 0, (size_t)events);
    double expected = estimate_edges(part, count, nodes, events, &bad_link);
    if (bad_link < 0) place_names(&t, events, names, b[2].buf, frequency, &bad_event);
    if (bad_link < 0 && bad_event < 0) { /* at most half full, with room for the estimate's error */
        failure = make_table(&t, slots > 0 ? (double)slots : 2.2 * expected) < 0 ||
                  sum_links(&t, part, count, nodes, names, b[0].buf, b[1].buf, b[2].buf, p[8]) < 0;
    }
    Py_END_ALLOW_THREADS
    if (bad_link >= 0) {
        PyErr_Format(PyExc_ValueError, "aggregate: link %zd names a node or event out of range, or is one too many",
                     bad_link);
        goto done;
    }
    if (bad_event >= 0) {
        PyErr_Format(PyExc_ValueError, "aggregate: event %zd has a name rank out of range", bad_event);
        goto done;
    }
    Py_ssize_t n = t.edges;
    bits = malloc((size_t)(n ? n : 1) * sizeof *bits);
    first_edge = malloc((size_t)(n ? n : 1) * sizeof *first_edge);
    if (failure || !bits || !first_edge) {
        PyErr_NoMemory();
        goto done;
    }
    /* src, dst (int32), count, first, last, errors (int64), relation (int8), set_of (int32) */
    const Py_ssize_t size[8] = {4, 4, 8, 8, 8, 8, 1, 4};
    for (int k = 0; k < 8; k++)
        if (!(out[k] = edges_new_bytes(n * size[k], &p[k]))) goto done;
    Py_ssize_t sets;
    Py_BEGIN_ALLOW_THREADS
    for (uint64_t h = 0; h <= t.mask; h++) {
        const Slot *e = &t.slot[h];
        if (!e->key) continue;
        int32_t k = e->edge;
        ((int32_t *)p[0])[k] = (int32_t)((e->key - 1) / nodes);
        ((int32_t *)p[1])[k] = (int32_t)((e->key - 1) % nodes);
        ((int64_t *)p[2])[k] = e->count;
        ((int64_t *)p[3])[k] = e->first;
        ((int64_t *)p[4])[k] = e->last;
        ((int64_t *)p[5])[k] = e->errors;
        ((int8_t *)p[6])[k] = e->relation;
        bits[k] = e->bits;
    }
    sets = number_sets(&t, bits, n, p[7], first_edge);
    Py_END_ALLOW_THREADS
    if (sets < 0 || !(out[8] = PyList_New(sets))) {
        if (sets < 0) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t s = 0; s < sets; s++) {
        PyObject *tuple = spell(&t, bits, first_edge[s], spelled, scratch);
        if (!tuple) goto done;
        PyList_SET_ITEM(out[8], s, tuple);
    }
    result = PyTuple_New(10);
    for (int k = 0; result && k < 10; k++) PyTuple_SET_ITEM(result, k, out[k]);
done:
    if (!result)
        for (int k = 0; k < 10; k++) Py_XDECREF(out[k]);
    free_table(t.slot, (t.mask + 1) * sizeof *t.slot);
    free(t.position); free(t.rank_at); free(t.block_of); free(t.blocks);
    free(bits); free(first_edge); free(scratch); free(frequency); free(part);
    edges_release(b, 3);
    if (pb) edges_release(pb, (int)(4 * count));
    free(pb);
    Py_DECREF(parts);
    return result;
}
