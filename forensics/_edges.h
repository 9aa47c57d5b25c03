/*
 * What the two files of forensics._edges share: _edges.c (the module, buffers, the
 * attribute dicts) and _edges_sum.c (aggregate: the links summed up per edge).
 */
#ifndef FORENSICS_EDGES_H
#define FORENSICS_EDGES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif
/* How many links ahead a link's hash table slot is fetched into the cache. */
#define AHEAD 16

/* A C-contiguous one-dimensional buffer of `length` items (-1: any), native signed integers
 * (kind 'i') or booleans (kind '?') of `itemsize` bytes; -1 with TypeError or ValueError. */
int edges_get_array(PyObject *obj, Py_buffer *b, const char *name, char kind, Py_ssize_t itemsize, Py_ssize_t length);
/* Releases n buffers (a zeroed one is left alone). */
void edges_release(Py_buffer *b, int n);
/* A new bytes object of `size` bytes, its data at *data. */
PyObject *edges_new_bytes(Py_ssize_t size, void **data);

/* aggregate(nodes, spelled, parts, times, failed, rank[, slots]), in _edges_sum.c */
PyObject *edges_aggregate(PyObject *self, PyObject *args);

#endif
