/*
 * forensics._edges: the activity graph's last steps in C (forensics/graphbuild.py says when).
 *
 * The graph sums millions of links (one per event and edge, as node codes) into a few
 * hundred thousand edges, then makes one attribute dict per edge and puts it into
 * networkx's dict-of-dicts. numpy does the first in several passes (a hash pass, then
 * min/max/bincount reductions and name bit sets); Python does the second at about a
 * microsecond an edge. Here:
 *
 *   aggregate(nodes, names, src, dst, row, rel, times, failed, rank)
 *       one hash pass numbers the edges in the order of their first link (pd.factorize's
 *       order) and sums them up; a counting sort by edge then finds each edge's distinct
 *       event names, and equal name sets are numbered once.
 *   insert_edges(succ, pred, labels, src, dst, count, first, last, errors, relation,
 *                relation_names, set_of, sets, tz)
 *       makes each edge's dict {count, first_seen, last_seen, actions, errors, relation}
 *       (aware datetimes, or None) and sets succ[u][v] = pred[v][u] = it.
 *   attribute_dicts(keys, columns)
 *       one dict per row of columns (lists), leaving out None values.
 *
 * Arrays come in through the buffer protocol; the Python wrapper passes contiguous arrays
 * of the right dtypes, and every length and code is checked here (ValueError, never a crash).
 * Arrays go out as bytes objects that numpy wraps without a copy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One edge's sums: 48 bytes, so that a link touches one cache line of them. */
typedef struct {
    int64_t key; /* src * nodes + dst */
    int64_t count, first, last, errors;
    int8_t relation;
} Edge;

typedef struct {
    Edge *at;
    Py_ssize_t size, cap;
} Edges;

static inline uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* An open-addressing table of edge numbers (-1: empty), each with the top bits of its key's
 * hash: 8 bytes a slot keep the table small, and a slot whose tag matches is confirmed by the
 * edge's own key, in the record the link updates anyway. */
typedef struct {
    uint32_t tag;
    int32_t edge;
} Slot;

typedef struct {
    Slot *slot;
    uint64_t mask;
} Table;

static int table_init(Table *t, uint64_t cap) {
    t->slot = malloc(cap * sizeof *t->slot);
    if (!t->slot) return -1;
    for (uint64_t h = 0; h < cap; h++) t->slot[h].edge = -1;
    t->mask = cap - 1;
    return 0;
}

static int table_double(Table *t, const Edges *e) {
    Table bigger;
    if (table_init(&bigger, (t->mask + 1) * 2) < 0) return -1;
    for (Py_ssize_t k = 0; k < e->size; k++) {
        uint64_t hash = mix((uint64_t)e->at[k].key), h = hash & bigger.mask;
        while (bigger.slot[h].edge >= 0) h = (h + 1) & bigger.mask;
        bigger.slot[h].tag = (uint32_t)(hash >> 32);
        bigger.slot[h].edge = (int32_t)k;
    }
    free(t->slot);
    *t = bigger;
    return 0;
}

#if defined(__GNUC__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif
/* How many links ahead the hash table slot is fetched into the cache. */
#define AHEAD 16

/* ------------------------------------------------------------------ buffers */

static int check(Py_buffer *b, const char *name, Py_ssize_t itemsize, Py_ssize_t length) {
    if (b->itemsize != itemsize || b->len % itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of %zd bytes, got %zd", name, itemsize, b->itemsize);
        return -1;
    }
    if (length >= 0 && b->len / itemsize != length) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", name, length, b->len / itemsize);
        return -1;
    }
    return 0;
}

static PyObject *new_bytes(Py_ssize_t size, void **data) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out) *data = PyBytes_AS_STRING(out);
    return out;
}

/* ---------------------------------------------------------------- aggregate */

/* Sort a few ranks in place (an edge rarely has more than a handful of names). */
static void sort_ranks(int32_t *r, Py_ssize_t n) {
    for (Py_ssize_t i = 1; i < n; i++) {
        int32_t v = r[i];
        Py_ssize_t j = i;
        for (; j > 0 && r[j - 1] > v; j--) r[j] = r[j - 1];
        r[j] = v;
    }
}

typedef struct {
    int32_t *set_of;             /* per edge */
    int32_t *bounds, *members;   /* per distinct set: members[bounds[s]:bounds[s + 1]] */
    Py_ssize_t sets, total;
} Sets;

/* The distinct names of each edge (ranks below `names`; `names` is a missing name), numbered
 * by set in the order of the first edge that has it. Returns -1 when out of memory. */
static int name_sets(const int32_t *group, const int32_t *ranks, Py_ssize_t links, const Edge *edges,
                     Py_ssize_t size, int32_t names, Sets *out) {
    int ok = -1;
    Py_ssize_t *start = malloc((size_t)(size + 1) * sizeof *start);
    int32_t *sorted = malloc((size_t)(links ? links : 1) * sizeof *sorted);
    int32_t *seen = malloc((size_t)(names + 1) * sizeof *seen);
    int32_t *slot = NULL, *first_edge = NULL;
    Py_ssize_t *length = NULL;
    memset(out, 0, sizeof *out);
    out->set_of = malloc((size_t)(size ? size : 1) * sizeof *out->set_of);
    out->bounds = malloc((size_t)(size + 1) * sizeof *out->bounds);
    if (!start || !sorted || !seen || !out->set_of || !out->bounds) goto done;

    /* counting sort of the links' ranks by edge */
    start[0] = 0;
    for (Py_ssize_t e = 0; e < size; e++) start[e + 1] = start[e] + (Py_ssize_t)edges[e].count;
    for (Py_ssize_t i = 0; i < links; i++) sorted[start[group[i]]++] = ranks[i];
    for (Py_ssize_t e = size; e > 0; e--) start[e] = start[e - 1];
    start[0] = 0;

    /* each edge's distinct spelled ranks, sorted, compacted to the front of its range */
    memset(seen, 0xff, (size_t)(names + 1) * sizeof *seen);
    length = malloc((size_t)(size ? size : 1) * sizeof *length);
    if (!length) goto done;
    for (Py_ssize_t e = 0; e < size; e++) {
        int32_t *r = sorted + start[e];
        Py_ssize_t n = 0;
        for (Py_ssize_t i = 0; i < start[e + 1] - start[e]; i++) {
            int32_t v = r[i];
            if (v < names && seen[v] != (int32_t)e) { seen[v] = (int32_t)e; r[n++] = v; }
        }
        sort_ranks(r, n);
        length[e] = n;
    }

    /* number equal sets once: a table of set numbers keyed by the ranks' hash */
    uint64_t cap = 64;
    while (cap < (uint64_t)size * 2) cap <<= 1;
    uint64_t mask = cap - 1;
    slot = malloc(cap * sizeof *slot);
    first_edge = malloc((size_t)(size ? size : 1) * sizeof *first_edge);
    if (!slot || !first_edge) goto done;
    memset(slot, 0xff, cap * sizeof *slot);
    for (Py_ssize_t e = 0; e < size; e++) {
        const int32_t *r = sorted + start[e];
        uint64_t h = (uint64_t)length[e];
        for (Py_ssize_t i = 0; i < length[e]; i++) h = mix(h ^ (uint64_t)(uint32_t)r[i]);
        h &= mask;
        for (;; h = (h + 1) & mask) {
            int32_t s = slot[h];
            if (s < 0) {
                slot[h] = (int32_t)out->sets;
                first_edge[out->sets++] = (int32_t)e;
                out->total += length[e];
                out->set_of[e] = slot[h];
                break;
            }
            Py_ssize_t f = first_edge[s];
            if (length[f] == length[e] && !memcmp(sorted + start[f], r, (size_t)length[e] * sizeof *r)) {
                out->set_of[e] = s;
                break;
            }
        }
    }
    out->members = malloc((size_t)(out->total ? out->total : 1) * sizeof *out->members);
    if (!out->members) goto done;
    Py_ssize_t at = 0;
    for (Py_ssize_t s = 0; s < out->sets; s++) {
        Py_ssize_t f = first_edge[s];
        out->bounds[s] = (int32_t)at;
        memcpy(out->members + at, sorted + start[f], (size_t)length[f] * sizeof *out->members);
        at += length[f];
    }
    out->bounds[out->sets] = (int32_t)at;
    ok = 0;
done:
    free(start); free(sorted); free(seen); free(slot); free(first_edge); free(length);
    if (ok < 0) { free(out->set_of); free(out->bounds); free(out->members); memset(out, 0, sizeof *out); }
    return ok;
}

static PyObject *aggregate(PyObject *self, PyObject *args) {
    (void)self;
    Py_ssize_t nodes;
    int names;
    Py_buffer src = {0}, dst = {0}, row = {0}, rel = {0}, times = {0}, failed = {0}, rank = {0};
    if (!PyArg_ParseTuple(args, "niy*y*y*y*y*y*y*:aggregate", &nodes, &names, &src, &dst, &row, &rel, &times,
                          &failed, &rank))
        return NULL;
    PyObject *result = NULL;
    Edges e = {0};
    Table t = {0};
    Sets sets = {0};
    int32_t *group = NULL, *ranks = NULL;
    Py_ssize_t links = src.len / 4, events = times.len / 8;
    if (check(&src, "src", 4, -1) || check(&dst, "dst", 4, links) || check(&row, "row", 8, links) ||
        check(&rel, "rel", 1, links) || check(&times, "times", 8, -1) || check(&failed, "failed", 1, events) ||
        check(&rank, "rank", 4, events))
        goto done;
    if (nodes < 0 || names < 0 || links > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "aggregate: bad node or name count, or too many links");
        goto done;
    }
    const int32_t *s = src.buf, *d = dst.buf, *rk = rank.buf;
    const int64_t *r = row.buf, *tm = times.buf;
    const int8_t *rl = rel.buf;
    const uint8_t *fl = failed.buf;
    for (Py_ssize_t i = 0; i < links; i++) {
        if (s[i] < 0 || s[i] >= nodes || d[i] < 0 || d[i] >= nodes || r[i] < 0 || r[i] >= events) {
            PyErr_Format(PyExc_ValueError, "aggregate: link %zd names a node or event out of range", i);
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < events; i++) {
        if (rk[i] < 0 || rk[i] > names) {
            PyErr_Format(PyExc_ValueError, "aggregate: event %zd has a name rank out of range", i);
            goto done;
        }
    }
    group = malloc((size_t)(links ? links : 1) * sizeof *group);
    ranks = malloc((size_t)(links ? links : 1) * sizeof *ranks);
    if (!group || !ranks || table_init(&t, 1024) < 0) { PyErr_NoMemory(); goto done; }

    int failure = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < links && !failure; i++) {
        if (i + AHEAD < links)
            PREFETCH(&t.slot[mix((uint64_t)((int64_t)s[i + AHEAD] * nodes + d[i + AHEAD])) & t.mask]);
        int64_t key = (int64_t)s[i] * nodes + d[i];
        uint64_t hash = mix((uint64_t)key), h = hash & t.mask;
        uint32_t tag = (uint32_t)(hash >> 32);
        int32_t at;
        while ((at = t.slot[h].edge) >= 0 && (t.slot[h].tag != tag || e.at[at].key != key)) h = (h + 1) & t.mask;
        if (at < 0) {
            if (e.size == e.cap) {
                Py_ssize_t cap = e.cap ? e.cap * 2 : 1024;
                Edge *bigger = realloc(e.at, (size_t)cap * sizeof *bigger);
                if (!bigger) { failure = 1; break; }
                e.at = bigger;
                e.cap = cap;
            }
            at = (int32_t)e.size++;
            t.slot[h].tag = tag;
            t.slot[h].edge = at;
            Edge fresh = {key, 0, INT64_MAX, INT64_MIN, 0, 0}; /* relation 0: as numpy's maximum.at over zeros */
            e.at[at] = fresh;
            if ((uint64_t)e.size * 2 > t.mask + 1 && table_double(&t, &e) < 0) { failure = 1; break; }
        }
        Edge *edge = &e.at[at];
        int64_t when = tm[r[i]];
        group[i] = at;
        ranks[i] = rk[r[i]];
        edge->count++;
        if (when != INT64_MIN && when < edge->first) edge->first = when;
        if (when > edge->last) edge->last = when;
        edge->errors += fl[r[i]] != 0;
        if (rl[i] > edge->relation) edge->relation = rl[i];
    }
    if (!failure) failure = name_sets(group, ranks, links, e.at, e.size, (int32_t)names, &sets) < 0;
    Py_END_ALLOW_THREADS
    if (failure) { PyErr_NoMemory(); goto done; }

    /* out: src, dst (int32), count, first, last, errors (int64), relation (int8), set_of (int32),
     * set bounds (int32), set members (int32 ranks) */
    Py_ssize_t n = e.size;
    void *p[10];
    PyObject *out[10] = {
        new_bytes(n * 4, &p[0]), new_bytes(n * 4, &p[1]), new_bytes(n * 8, &p[2]), new_bytes(n * 8, &p[3]),
        new_bytes(n * 8, &p[4]), new_bytes(n * 8, &p[5]), new_bytes(n, &p[6]), new_bytes(n * 4, &p[7]),
        new_bytes((sets.sets + 1) * 4, &p[8]), new_bytes(sets.total * 4, &p[9]),
    };
    int missing = 0;
    for (int k = 0; k < 10; k++) missing |= out[k] == NULL;
    if (!missing) {
        for (Py_ssize_t k = 0; k < n; k++) {
            const Edge *edge = &e.at[k];
            ((int32_t *)p[0])[k] = (int32_t)(edge->key / nodes); /* n > 0: some link named a node */
            ((int32_t *)p[1])[k] = (int32_t)(edge->key % nodes);
            ((int64_t *)p[2])[k] = edge->count;
            ((int64_t *)p[3])[k] = edge->first;
            ((int64_t *)p[4])[k] = edge->last;
            ((int64_t *)p[5])[k] = edge->errors;
            ((int8_t *)p[6])[k] = edge->relation;
        }
        memcpy(p[7], sets.set_of, (size_t)n * 4);
        memcpy(p[8], sets.bounds, (size_t)(sets.sets + 1) * 4);
        memcpy(p[9], sets.members, (size_t)sets.total * 4);
        result = PyTuple_New(10);
    }
    for (int k = 0; k < 10; k++) {
        if (result) PyTuple_SET_ITEM(result, k, out[k]);
        else Py_XDECREF(out[k]);
    }
done:
    free(e.at);
    free(t.slot); free(group); free(ranks);
    free(sets.set_of); free(sets.bounds); free(sets.members);
    PyBuffer_Release(&src); PyBuffer_Release(&dst); PyBuffer_Release(&row); PyBuffer_Release(&rel);
    PyBuffer_Release(&times); PyBuffer_Release(&failed); PyBuffer_Release(&rank);
    return result;
}

/* ------------------------------------------------------------- insert_edges */

static PyObject *KEYS[6]; /* count, first_seen, last_seen, actions, errors, relation (interned) */

/* An aware datetime of microseconds since the epoch (the caller checked years 1..9999). */
static PyObject *utc_datetime(int64_t us, PyObject *tz) {
    int64_t day = us / 86400000000LL, rest = us % 86400000000LL;
    if (rest < 0) { rest += 86400000000LL; day--; }
    /* civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms") */
    int64_t z = day + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1, mm = mp < 10 ? mp + 3 : mp - 9, yy = yoe + era * 400 + (mm <= 2);
    int64_t second = rest / 1000000;
    return PyDateTimeAPI->DateTime_FromDateAndTime((int)yy, (int)mm, (int)dd, (int)(second / 3600),
                                                   (int)(second / 60 % 60), (int)(second % 60),
                                                   (int)(rest % 1000000), tz, PyDateTimeAPI->DateTimeType);
}

static PyObject *insert_edges(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *succ, *pred, *labels, *relation_names, *sets, *tz;
    Py_buffer src = {0}, dst = {0}, count = {0}, first = {0}, last = {0}, errors = {0}, relation = {0}, set_of = {0};
    if (!PyArg_ParseTuple(args, "O!O!O!y*y*y*y*y*y*y*O!y*O!O:insert_edges", &PyDict_Type, &succ, &PyDict_Type, &pred,
                          &PyList_Type, &labels, &src, &dst, &count, &first, &last, &errors, &relation,
                          &PyTuple_Type, &relation_names, &set_of, &PyList_Type, &sets, &tz))
        return NULL;
    PyObject *result = NULL, *template = NULL;
    PyObject **outs = NULL, **ins = NULL; /* succ[label], pred[label] of each node code, once looked up */
    Py_ssize_t n = src.len / 4, nodes = PyList_GET_SIZE(labels);
    if (check(&src, "src", 4, -1) || check(&dst, "dst", 4, n) || check(&count, "count", 8, n) ||
        check(&first, "first", 8, n) || check(&last, "last", 8, n) || check(&errors, "errors", 8, n) ||
        check(&relation, "relation", 1, n) || check(&set_of, "set_of", 4, n))
        goto done;
    const int32_t *s = src.buf, *d = dst.buf, *so = set_of.buf;
    const int64_t *c = count.buf, *f = first.buf, *l = last.buf, *er = errors.buf;
    const int8_t *rl = relation.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < 0 || s[i] >= nodes || d[i] < 0 || d[i] >= nodes || so[i] < 0 || so[i] >= PyList_GET_SIZE(sets) ||
            rl[i] < 0 || rl[i] >= PyTuple_GET_SIZE(relation_names)) {
            PyErr_Format(PyExc_ValueError, "insert_edges: edge %zd has a code out of range", i);
            goto done;
        }
    }
    /* Each dict is a copy of one with the six keys, then its values set: a dict made empty
     * and filled would grow its table on the sixth key. */
    outs = calloc((size_t)(nodes ? nodes : 1), sizeof *outs);
    ins = calloc((size_t)(nodes ? nodes : 1), sizeof *ins);
    if (!outs || !ins) { PyErr_NoMemory(); goto done; }
    template = PyDict_New();
    for (int k = 0; template && k < 6; k++)
        if (PyDict_SetItem(template, KEYS[k], Py_None) < 0) Py_CLEAR(template);
    if (!template) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *u = PyList_GET_ITEM(labels, s[i]), *v = PyList_GET_ITEM(labels, d[i]);
        /* borrowed: succ and pred hold them, and only the inner dicts change here */
        PyObject *out = outs[s[i]] ? outs[s[i]] : PyDict_GetItemWithError(succ, u);
        PyObject *in = ins[d[i]] ? ins[d[i]] : PyDict_GetItemWithError(pred, v);
        if (!out || !in || !PyDict_Check(out) || !PyDict_Check(in)) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "insert_edges: node %R has no adjacency dict", out ? v : u);
            goto done;
        }
        outs[s[i]] = out;
        ins[d[i]] = in;
        PyObject *value[6] = {
            PyLong_FromLongLong(c[i]),
            f[i] == INT64_MAX ? Py_NewRef(Py_None) : utc_datetime(f[i], tz),
            l[i] == INT64_MIN ? Py_NewRef(Py_None) : utc_datetime(l[i], tz),
            Py_NewRef(PyList_GET_ITEM(sets, so[i])),
            PyLong_FromLongLong(er[i]),
            Py_NewRef(PyTuple_GET_ITEM(relation_names, rl[i])),
        };
        PyObject *data = PyDict_Copy(template);
        int bad = data == NULL;
        for (int k = 0; k < 6; k++) {
            if (!bad && (value[k] == NULL || PyDict_SetItem(data, KEYS[k], value[k]) < 0)) bad = 1;
            Py_XDECREF(value[k]);
        }
        if (!bad) bad = PyDict_SetItem(out, v, data) < 0 || PyDict_SetItem(in, u, data) < 0;
        Py_XDECREF(data);
        if (bad) goto done;
    }
    result = Py_NewRef(Py_None);
done:
    free(outs);
    free(ins);
    Py_XDECREF(template);
    PyBuffer_Release(&src); PyBuffer_Release(&dst); PyBuffer_Release(&count); PyBuffer_Release(&first);
    PyBuffer_Release(&last); PyBuffer_Release(&errors); PyBuffer_Release(&relation); PyBuffer_Release(&set_of);
    return result;
}

/* ---------------------------------------------------------- attribute_dicts */

static PyObject *attribute_dicts(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *keys, *columns;
    if (!PyArg_ParseTuple(args, "O!O!:attribute_dicts", &PyTuple_Type, &keys, &PyList_Type, &columns)) return NULL;
    Py_ssize_t width = PyTuple_GET_SIZE(keys), rows = -1;
    if (PyList_GET_SIZE(columns) != width) {
        PyErr_SetString(PyExc_ValueError, "attribute_dicts: one column per key");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < width; k++) {
        PyObject *column = PyList_GET_ITEM(columns, k);
        if (!PyList_Check(column) || (rows >= 0 && PyList_GET_SIZE(column) != rows)) {
            PyErr_SetString(PyExc_ValueError, "attribute_dicts: columns must be lists of one length");
            return NULL;
        }
        rows = PyList_GET_SIZE(column);
    }
    PyObject *out = PyList_New(rows < 0 ? 0 : rows);
    for (Py_ssize_t i = 0; out && i < rows; i++) {
        PyObject *d = PyDict_New();
        for (Py_ssize_t k = 0; d && k < width; k++) {
            PyObject *value = PyList_GET_ITEM(PyList_GET_ITEM(columns, k), i);
            if (value != Py_None && PyDict_SetItem(d, PyTuple_GET_ITEM(keys, k), value) < 0) Py_CLEAR(d);
        }
        if (!d) Py_CLEAR(out);
        else PyList_SET_ITEM(out, i, d);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"aggregate", aggregate, METH_VARARGS, "Sum links up per edge (see forensics.graphbuild.aggregate)."},
    {"insert_edges", insert_edges, METH_VARARGS, "Put the edges' attribute dicts into networkx's dicts."},
    {"attribute_dicts", attribute_dicts, METH_VARARGS, "One dict per row of columns, leaving out None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_edges", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__edges(void) {
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return NULL;
    const char *names[6] = {"count", "first_seen", "last_seen", "actions", "errors", "relation"};
    for (int k = 0; k < 6; k++)
        if (!KEYS[k] && !(KEYS[k] = PyUnicode_InternFromString(names[k]))) return NULL;
    return PyModule_Create(&module);
}
