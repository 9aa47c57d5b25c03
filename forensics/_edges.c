/*
 * forensics._edges: the activity graph's last steps in C (forensics/graphbuild.py says when).
 *
 * The graph sums millions of links (one per event and edge, as node codes) into a few
 * hundred thousand edges, then makes one attribute dict per edge and puts it into
 * networkx's dict-of-dicts. numpy does the first in several passes (a hash pass, then
 * min/max/bincount reductions and name bit sets); Python does the second at about a
 * microsecond an edge. Here:
 *
 *   aggregate(nodes, spelled, parts, times, failed, rank)
 *       parts: a list of (src, dst, row, mask, relation), link i of a part joining
 *       src[i] to dst[i] from event row[i] (row None: event i) where mask[i] (mask None:
 *       every i), so that numpy need not pick out and concatenate the links first.
 *       A quick pass checks the links and estimates how many edges there are
 *       (HyperLogLog), so that the hash table is made the right size at once; then one
 *       pass over the links through that table, whose slots hold the edges' sums and
 *       event names as bits (a link reads and writes its slot and nothing else at
 *       random, fetched a few links ahead), numbering the edges in the order of their
 *       first link (pd.factorize's order). Equal name sets are then numbered once and
 *       spelled once, as tuples of the `spelled` strings. Also returns which events gave
 *       a link.
 *   insert_edges(succ, pred, labels, src, dst, count, first, last, errors, relation,
 *                relation_names, set_of, sets, tz)
 *       makes each edge's dict {count, first_seen, last_seen, actions, errors, relation}
 *       (aware datetimes, or None) and sets succ[u][v] = pred[v][u] = it, one node's
 *       inner dict at a time.
 *   attribute_dicts(keys, columns)
 *       one dict per row of columns (lists), leaving out None values.
 *
 * aggregate is in _edges_sum.c, the rest here; _edges.h is what they share.
 *
 * Arrays come in through the buffer protocol: their format, item size, length and
 * contiguity are checked, and so is every code (TypeError or ValueError, never a crash).
 * Arrays go out as bytes objects that numpy wraps without a copy.
 */
#include "_edges.h"
#include <datetime.h>

/* ------------------------------------------------------------------ buffers */

int edges_get_array(PyObject *obj, Py_buffer *b, const char *name, char kind, Py_ssize_t itemsize,
                    Py_ssize_t length) {
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) return -1;
        PyErr_Clear();
        if (PyObject_CheckBuffer(obj))
            PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous array", name);
        else
            PyErr_Format(PyExc_TypeError, "%s: expected an array, got %.200s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *f = b->format ? b->format : "B";
    if (*f == '@' || *f == '=') f++;
    int fits = kind == '?' ? !strcmp(f, "?") : f[0] != '\0' && f[1] == '\0' && strchr("bhilq", f[0]) != NULL;
    if (!fits || b->itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s items of %zd bytes, got format '%s' of %zd", name,
                     kind == '?' ? "bool" : "integer", itemsize, b->format ? b->format : "B", b->itemsize);
    } else if (b->ndim > 1) {
        PyErr_Format(PyExc_ValueError, "%s: expected a one-dimensional array, got %d dimensions", name, b->ndim);
    } else if (length >= 0 && b->len / itemsize != length) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", name, length, b->len / itemsize);
    } else {
        return 0;
    }
    PyBuffer_Release(b);
    return -1;
}

void edges_release(Py_buffer *b, int n) {
    for (int k = 0; k < n; k++) PyBuffer_Release(&b[k]); /* does nothing to a zeroed buffer */
}

PyObject *edges_new_bytes(Py_ssize_t size, void **data) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out) *data = PyBytes_AS_STRING(out);
    return out;
}

/* ------------------------------------------------------------- insert_edges */

static PyObject *KEYS[6]; /* count, first_seen, last_seen, actions, errors, relation (interned) */

/* An aware datetime of microseconds since the epoch. datetime itself refuses years outside
 * 1..9999 (the Python wrapper sends such times the Python way, for pandas' message). */
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

/* The edges (0..n-1) ordered by code, in edge order among equal codes (a stable counting sort). */
static int32_t *order_by(const int32_t *code, Py_ssize_t n, Py_ssize_t nodes) {
    Py_ssize_t *start = calloc((size_t)nodes + 1, sizeof *start);
    int32_t *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (start && order) {
        for (Py_ssize_t e = 0; e < n; e++) start[code[e] + 1]++;
        for (Py_ssize_t c = 0; c < nodes; c++) start[c + 1] += start[c];
        for (Py_ssize_t e = 0; e < n; e++) order[start[code[e]]++] = (int32_t)e;
    } else {
        free(order);
        order = NULL;
    }
    free(start);
    return order;
}

/* The inner dict adjacency[label] of every node code in `code` (new references, in `inner`),
 * looked up in the order of the codes (`order`), which is the order of networkx's dicts. */
static int inner_dicts(PyObject *adjacency, PyObject *labels, const int32_t *code, const int32_t *order,
                       Py_ssize_t n, PyObject **inner) {
    for (Py_ssize_t k = 0; k < n; k++) {
        int32_t c = code[order[k]];
        if (inner[c]) continue;
        PyObject *label = PyTuple_GET_ITEM(labels, c);
        PyObject *d = PyDict_GetItemWithError(adjacency, label);
        if (!d) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "insert_edges: node %R has no adjacency dict", label);
            return -1;
        }
        if (!PyDict_CheckExact(d)) {
            PyErr_Format(PyExc_TypeError, "insert_edges: the adjacency dict of node %R is not a dict", label);
            return -1;
        }
        inner[c] = Py_NewRef(d);
    }
    return 0;
}

/* Edge e's attribute dict: a copy of `template` (the six keys in order, in a table already
 * big enough for them), its values then set. */
static PyObject *edge_dict(PyObject *template, Py_ssize_t e, const int64_t *count, const int64_t *first,
                           const int64_t *last, const int64_t *errors, PyObject *actions, PyObject *relation,
                           PyObject *tz) {
    PyObject *value[6] = {
        PyLong_FromLongLong(count[e]),
        first[e] == INT64_MAX ? Py_NewRef(Py_None) : utc_datetime(first[e], tz),
        NULL,
        Py_NewRef(actions),
        PyLong_FromLongLong(errors[e]),
        Py_NewRef(relation),
    };
    /* one event behind the edge, or all at one time: one datetime object, as immutable as two */
    value[2] = last[e] == INT64_MIN ? Py_NewRef(Py_None) : last[e] == first[e] && value[1] ? Py_NewRef(value[1])
                                                                                          : utc_datetime(last[e], tz);
    PyObject *data = PyDict_Copy(template);
    for (int k = 0; k < 6; k++) {
        if (data && (!value[k] || PyDict_SetItem(data, KEYS[k], value[k]) < 0)) Py_CLEAR(data);
        Py_XDECREF(value[k]);
    }
    return data;
}

/* Put each edge's dict into inner[own[e]] under the label of other[e], in the given order (one
 * node's inner dict at a time); `release` drops the dicts' own references once the graph holds
 * them. Returns -1 with an exception set. */
static int insert_side(PyObject **inner, const int32_t *own, const int32_t *other, const int32_t *order, Py_ssize_t n,
                       PyObject *labels, PyObject **data, int release) {
    for (Py_ssize_t k = 0; k < n; k++) {
        /* fetched ahead: where the dict and the key are, then themselves (the insertion raises
         * their reference counts) */
        if (k + 2 * AHEAD < n) {
            PREFETCH(&data[order[k + 2 * AHEAD]]);
            PREFETCH(&other[order[k + 2 * AHEAD]]);
        }
        if (k + AHEAD < n) {
            PREFETCH(data[order[k + AHEAD]]);
            PREFETCH(PyTuple_GET_ITEM(labels, other[order[k + AHEAD]]));
        }
        int32_t e = order[k];
        if (PyDict_SetItem(inner[own[e]], PyTuple_GET_ITEM(labels, other[e]), data[e]) < 0) return -1;
        if (release) Py_CLEAR(data[e]);
    }
    return 0;
}

static PyObject *insert_edges(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *succ, *pred, *labels_in, *arg[8], *relation_names, *sets_in, *tz;
    if (!PyArg_ParseTuple(args, "O!O!OOOOOOOOO!OO!O!:insert_edges", &PyDict_Type, &succ, &PyDict_Type, &pred,
                          &labels_in, &arg[0], &arg[1], &arg[2], &arg[3], &arg[4], &arg[5], &arg[6], &PyTuple_Type,
                          &relation_names, &arg[7], &PyList_Type, &sets_in, PyDateTimeAPI->TZInfoType, &tz))
        return NULL;
    Py_buffer b[8] = {{0}};
    PyObject *result = NULL, *template = NULL, *labels = NULL, *sets = NULL;
    PyObject **outs = NULL, **ins = NULL, **data = NULL; /* succ[u] and pred[v] per node code; each edge's dict */
    int32_t *by_src = NULL, *by_dst = NULL;
    Py_ssize_t n = 0, nodes = 0;
    /* own copies: nothing done here (a collection running finalizers) can change them under us */
    if (!(labels = PySequence_Tuple(labels_in)) || !(sets = PyList_AsTuple(sets_in))) goto done;
    nodes = PyTuple_GET_SIZE(labels);
    static const char *const name[8] = {"src", "dst", "count", "first", "last", "errors", "relation", "set_of"};
    static const Py_ssize_t size[8] = {4, 4, 8, 8, 8, 8, 1, 4};
    for (int k = 0; k < 8; k++) /* each as long as src */
        if (edges_get_array(arg[k], &b[k], name[k], 'i', size[k], k ? b[0].len / 4 : -1)) goto done;
    n = b[0].len / 4;
    const int32_t *s = b[0].buf, *d = b[1].buf, *so = b[7].buf;
    const int64_t *count = b[2].buf, *first = b[3].buf, *last = b[4].buf, *errors = b[5].buf;
    const int8_t *rl = b[6].buf;
    for (Py_ssize_t e = 0; e < n; e++) {
        if (s[e] < 0 || s[e] >= nodes || d[e] < 0 || d[e] >= nodes || so[e] < 0 || so[e] >= PyTuple_GET_SIZE(sets) ||
            rl[e] < 0 || rl[e] >= PyTuple_GET_SIZE(relation_names)) {
            PyErr_Format(PyExc_ValueError, "insert_edges: edge %zd has a code out of range", e);
            goto done;
        }
    }
    outs = calloc((size_t)(nodes ? nodes : 1), sizeof *outs);
    ins = calloc((size_t)(nodes ? nodes : 1), sizeof *ins);
    data = calloc((size_t)(n ? n : 1), sizeof *data);
    by_src = order_by(s, n, nodes);
    by_dst = order_by(d, n, nodes);
    if (!outs || !ins || !data || !by_src || !by_dst) {
        PyErr_NoMemory();
        goto done;
    }
    /* every node's inner dicts are found before the graph changes */
    if (inner_dicts(succ, labels, s, by_src, n, outs) < 0 || inner_dicts(pred, labels, d, by_dst, n, ins) < 0) goto done;
    template = PyDict_New();
    for (int k = 0; template && k < 6; k++)
        if (PyDict_SetItem(template, KEYS[k], Py_None) < 0) Py_CLEAR(template);
    if (!template) goto done;
    /* The dicts are made in edge order, then put in one source's inner dict at a time, then
     * one target's: each inner dict gets its edges in edge order (as the Python loop puts
     * them) while it is in the cache. Only running out of memory can stop the insertions
     * halfway (codes and nodes are checked above); the edges put so far then stay. */
    for (Py_ssize_t e = 0; e < n; e++) {
        data[e] = edge_dict(template, e, count, first, last, errors, PyTuple_GET_ITEM(sets, so[e]),
                            PyTuple_GET_ITEM(relation_names, rl[e]), tz);
        if (!data[e]) goto done;
    }
    if (insert_side(outs, s, d, by_src, n, labels, data, 0) < 0 || insert_side(ins, d, s, by_dst, n, labels, data, 1) < 0)
        goto done;
    result = Py_NewRef(Py_None);
done:
    for (Py_ssize_t e = 0; data && e < n; e++) Py_XDECREF(data[e]);
    for (Py_ssize_t c = 0; c < nodes; c++) {
        if (outs) Py_XDECREF(outs[c]);
        if (ins) Py_XDECREF(ins[c]);
    }
    free(outs); free(ins); free(data); free(by_src); free(by_dst);
    Py_XDECREF(template); Py_XDECREF(labels); Py_XDECREF(sets);
    edges_release(b, 8);
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
    {"aggregate", edges_aggregate, METH_VARARGS, "Sum links up per edge (see forensics.graphbuild.aggregate)."},
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
