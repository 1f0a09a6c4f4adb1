/* The event lines of a chunk of ftrace text, in C: what
 * ``EVENT_RE.findall(chunk)`` of irqlab/observe/ftrace_line.py finds, matched
 * the same way (leftmost match at a '[', the same possessive runs and
 * alternatives, the search resumed where a match ends), each event's text
 * decoded by the reader's own cache (``ftrace._Decoded``), so the columns are
 * those of ``FtraceReader._matched_columns``.  Built by setup.py beside the
 * mypyc modules; without it (or under IRQLAB_PURE_PYTHON) the reader runs its
 * numpy and regular-expression paths, with identical results
 * (tests/observe/test_ftrace_scan.py).
 *
 * scan(chunk, decoded) -> ((ts_ns, cpu, kind, irq, value, name), lines, lost,
 *                          first_fraction, last_fraction, max_cpu) or None
 *
 * ``lines``: the chunk's newlines; ``lost``: its lines without an event that
 * hold "LOST" (the ``[LOST n EVENTS]`` markers), newline-terminated;
 * ``first_fraction``/``last_fraction``: the fraction digits of the first and
 * last event's timestamp (-1: no dot); ``max_cpu``: the highest CPU (-1: no
 * event).  None when the caller must read the chunk itself: an event whose
 * text does not decode (a damaged line, which the caller counts), a CPU over
 * 18 digits or a timestamp past 64 bits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define TABLE_SIZE 4096 /* distinct event texts remembered per chunk (a power of 2) */
#define TABLE_FILL 2048

typedef struct {
    const char *text; /* NULL: free slot */
    Py_ssize_t len;
    uint64_t hash;
    PyObject *value; /* the decoded tuple (a reference) */
} Slot;

typedef struct {
    int64_t ts, cpu;
    PyObject *info; /* borrowed from the table or from ``held`` */
} Row;

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
/* \s of a bytes pattern */
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static inline int starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static inline int ends_with(const char *w, Py_ssize_t n, const char *lit)
{
    Py_ssize_t k = (Py_ssize_t)strlen(lit);
    return n > k && memcmp(w + n - k, lit, (size_t)k) == 0; /* \w+ before it: at least one */
}

static inline int is(const char *w, Py_ssize_t n, const char *lit)
{
    return (size_t)n == strlen(lit) && memcmp(w, lit, (size_t)n) == 0;
}

/* The end of the first \r or \n run-up from p: [^\r\n]*+ */
static const char *rest_of_line(const char *p, const char *end)
{
    while (p < end && *p != '\r' && *p != '\n')
        p++;
    return p;
}

/* ": ++" at p: the position after the spaces, or NULL */
static const char *colon_spaces(const char *p, const char *end)
{
    if (p >= end || *p != ':' || p + 1 >= end || p[1] != ' ')
        return NULL;
    p += 2;
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* The event-text group at t: its end, or NULL when no alternative matches.
 * ``end`` is the buffer's end (a \s may take the line's newline). */
static const char *event_text(const char *t, const char *end)
{
    const char *w = t;
    while (w < end && is_word(*w))
        w++;
    Py_ssize_t n = w - t;
    const char *a = colon_spaces(w, end);
    if (n == 0 || a == NULL)
        return NULL;
    /* irq_handler_(entry|exit) | softirq_(raise|entry|exit) | \w+_(entry|exit) */
    if (ends_with(t, n, "_entry") || ends_with(t, n, "_exit") || is(t, n, "softirq_raise")) {
        if (starts(a, end, "irq="))
            return rest_of_line(a + 4, end);
        if (starts(a, end, "vec="))
            return rest_of_line(a + 4, end);
        if (starts(a, end, "vector="))
            return rest_of_line(a + 7, end);
    }
    /* (tasklet_(entry|exit) | workqueue_\w+): ++(tasklet|func|work struct)[=\s] */
    if (is(t, n, "tasklet_entry") || is(t, n, "tasklet_exit")
        || (n > 10 && memcmp(t, "workqueue_", 10) == 0)) {
        const char *k = NULL;
        if (starts(a, end, "tasklet"))
            k = a + 7;
        else if (starts(a, end, "func"))
            k = a + 4;
        else if (starts(a, end, "work struct"))
            k = a + 11;
        if (k != NULL && k < end && (*k == '=' || is_space(*k)))
            return rest_of_line(k + 1, end);
    }
    if (is(t, n, "sched_switch") || is(t, n, "sched_wakeup"))
        return rest_of_line(a, end);
    return NULL;
}

typedef struct {
    const char *cpu, *stamp;
    Py_ssize_t cpu_len, stamp_len;
    int fraction; /* digits after the dot, -1: no dot */
} Head;

/* EVENT_RE up to its event text, at the '[' at p: where the text starts (after
 * a system prefix), or NULL.  No backtracking is needed: when the flags group
 * matches, a timestamp cannot start where the group does (its characters hold
 * no ':' and a space follows them); when a prefix matches, no event name can
 * start where the prefix does (its word is followed by ':' and no space). */
static const char *head_at(const char *p, const char *line_end, Head *h)
{
    const char *d = p + 1, *q = d;
    while (q < line_end && is_digit(*q) && q - d < 4300)
        q++;
    if (q == d || q >= line_end || *q != ']' || q + 1 >= line_end || q[1] != ' ')
        return NULL;
    h->cpu = d;
    h->cpu_len = q - d;
    q += 2;
    while (q < line_end && *q == ' ')
        q++;
    /* (?:[^\s:\[\]]{1,6}+ ++)? */
    const char *f = q;
    while (f < line_end && f - q < 6 && !is_space(*f) && *f != ':' && *f != '[' && *f != ']')
        f++;
    if (f > q && f < line_end && *f == ' ') {
        while (f < line_end && *f == ' ')
            f++;
        q = f;
    }
    /* \d{1,20}+(?:\.\d{0,12}+)?: ++ */
    const char *s = q;
    while (q < line_end && is_digit(*q) && q - s < 20)
        q++;
    if (q == s)
        return NULL;
    h->fraction = -1;
    if (q < line_end && *q == '.') {
        const char *frac = ++q;
        while (q < line_end && is_digit(*q) && q - frac < 12)
            q++;
        h->fraction = (int)(q - frac);
    }
    h->stamp = s;
    h->stamp_len = q - s;
    const char *t = colon_spaces(q, line_end);
    if (t == NULL)
        return NULL;
    /* (?:(?:irq|irq_vectors|sched|workqueue):)? */
    switch (*t) {
    case 'i':
        if (starts(t, line_end, "irq:"))
            return t + 4;
        if (starts(t, line_end, "irq_vectors:"))
            return t + 12;
        break;
    case 's':
        if (starts(t, line_end, "sched:"))
            return t + 6;
        break;
    case 'w':
        if (starts(t, line_end, "workqueue:"))
            return t + 10;
        break;
    }
    return t;
}

static int digits_value(const char *p, Py_ssize_t n, int64_t *out)
{
    if (n > 18)
        return 0;
    int64_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    *out = v;
    return 1;
}

/* ns of a timestamp as ``ftrace._ns`` reads it: S.F -> S * 10**9 + F (first 9
 * digits), S. and S -> S as is */
static int stamp_ns(const Head *m, int64_t *out)
{
    if (m->fraction <= 0)
        return digits_value(m->stamp, m->stamp_len - (m->fraction == 0), out);
    Py_ssize_t sec_len = m->stamp_len - m->fraction - 1;
    int64_t sec, frac = 0;
    if (sec_len > 9 || !digits_value(m->stamp, sec_len, &sec))
        return 0;
    const char *f = m->stamp + sec_len + 1;
    for (int i = 0; i < 9; i++)
        frac = frac * 10 + (i < m->fraction ? f[i] - '0' : 0);
    *out = sec * 1000000000 + frac;
    return 1;
}

static int has_lost(const char *p, const char *end)
{
    for (; (p = memchr(p, 'L', (size_t)(end - p))) != NULL && end - p >= 4; p++)
        if (memcmp(p, "LOST", 4) == 0)
            return 1;
    return 0;
}

static uint64_t hash_text(const char *p, Py_ssize_t n)
{
    uint64_t a = 0x9E3779B97F4A7C15u ^ (uint64_t)n, b = 0xC2B2AE3D27D4EB4Fu, c = 0x165667B19E3779F9u,
             d = 0x27D4EB2F165667C5u, w[4];
    const char *last = n >= 32 ? p + n - 32 : NULL; /* the last 32 bytes, when there are 32 */
    for (; n >= 32; p += 32, n -= 32) { /* four independent lanes */
        memcpy(w, p, 32);
        a = (a ^ w[0]) * 0xBF58476D1CE4E5B9u;
        b = (b ^ w[1]) * 0x94D049BB133111EBu;
        c = (c ^ w[2]) * 0xBF58476D1CE4E5B9u;
        d = (d ^ w[3]) * 0x94D049BB133111EBu;
    }
    if (last != NULL) { /* a fixed-size copy (no library call), overlapping the blocks */
        memcpy(w, last, sizeof w);
    } else {
        memset(w, 0, sizeof w);
        memcpy(w, p, (size_t)n);
    }
    a = (a ^ w[0] ^ (b >> 29)) * 0xBF58476D1CE4E5B9u;
    b = (b ^ w[1] ^ (c >> 31)) * 0x94D049BB133111EBu;
    c = (c ^ w[2] ^ (d >> 27)) * 0xBF58476D1CE4E5B9u;
    d = (d ^ w[3] ^ (a >> 30)) * 0x94D049BB133111EBu;
    uint64_t h = a ^ (b >> 17) ^ (c << 13) ^ (d >> 23);
    return h ^ (h >> 31);
}

typedef struct {
    Slot *slots;
    Py_ssize_t used;
    PyObject *held; /* decoded values not kept in the table */
} Table;

/* The decoded value remembered for a text (borrowed), or NULL */
static PyObject *find(const Table *table, const char *text, Py_ssize_t len, uint64_t h,
                      size_t *slot)
{
    size_t i = (size_t)h & (TABLE_SIZE - 1);
    for (; table->slots[i].text != NULL; i = (i + 1) & (TABLE_SIZE - 1)) {
        const Slot *s = &table->slots[i];
        if (s->hash == h && s->len == len && memcmp(s->text, text, (size_t)len) == 0)
            return s->value;
    }
    *slot = i;
    return NULL;
}

/* The decoded value of an event text (borrowed), decoded by ``decoded`` when
 * not remembered, or NULL with an exception */
static PyObject *decode(Table *table, PyObject *decoded, const char *text, Py_ssize_t len)
{
    uint64_t h = hash_text(text, len);
    size_t i;
    PyObject *value = find(table, text, len, h, &i);
    if (value != NULL)
        return value;
    PyObject *key = PyBytes_FromStringAndSize(text, len);
    if (key == NULL)
        return NULL;
    value = PyObject_GetItem(decoded, key);
    Py_DECREF(key);
    if (value == NULL)
        return NULL;
    if (value != Py_None && (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 4)) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "decoded event: expected a 4-tuple or None");
        return NULL;
    }
    if (table->used < TABLE_FILL) {
        table->slots[i] = (Slot){text, len, h, value};
        table->used++;
    } else {
        int failed = PyList_Append(table->held, value);
        Py_DECREF(value);
        if (failed)
            return NULL;
    }
    return value;
}

static PyObject *build(const Row *rows, Py_ssize_t n)
{
    PyObject *cols[6];
    for (int c = 0; c < 6; c++) {
        cols[c] = PyList_New(n);
        if (cols[c] == NULL) {
            while (c--)
                Py_DECREF(cols[c]);
            return NULL;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *ts = PyLong_FromLongLong(rows[i].ts), *cpu = PyLong_FromLongLong(rows[i].cpu);
        if (ts == NULL || cpu == NULL) {
            Py_XDECREF(ts);
            Py_XDECREF(cpu);
            for (int c = 0; c < 6; c++)
                Py_DECREF(cols[c]);
            return NULL;
        }
        PyList_SET_ITEM(cols[0], i, ts);
        PyList_SET_ITEM(cols[1], i, cpu);
        for (int c = 0; c < 4; c++) {
            PyObject *item = PyTuple_GET_ITEM(rows[i].info, c);
            Py_INCREF(item);
            PyList_SET_ITEM(cols[2 + c], i, item);
        }
    }
    return Py_BuildValue("(NNNNNN)", cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]);
}

static PyObject *scan(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    PyObject *decoded, *result = NULL, *lost = NULL;
    if (!PyArg_ParseTuple(args, "y*O:scan", &buf, &decoded))
        return NULL;
    const char *data = buf.buf, *end = data + buf.len;
    Table table = {PyMem_Calloc(TABLE_SIZE, sizeof(Slot)), 0, PyList_New(0)};
    Py_ssize_t cap = 1024, n = 0, lines = 0;
    Row *rows = PyMem_Malloc((size_t)cap * sizeof(Row));
    int first = -1, last = -1, fallback = 0;
    int64_t max_cpu = -1;
    if (table.slots == NULL || table.held == NULL || rows == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    lost = PyList_New(0);
    if (lost == NULL)
        goto done;
    /* A \r ends an event text before its line does (the expression's
     * [^\r\n]); most captures hold none, and then no line is searched for one. */
    const int any_cr = memchr(data, '\r', (size_t)buf.len) != NULL;
    for (const char *line = data; line < end && !fallback;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *line_end = nl != NULL ? nl : end;
        const char *p = line, *cr = NULL;
        int matched = 0, crs = 0; /* crs: cr is the line's first \r at or after p (or NULL) */
        while (p < line_end && (p = memchr(p, '[', (size_t)(line_end - p))) != NULL) {
            Head h;
            const char *t = head_at(p, line_end, &h);
            if (t == NULL) {
                p++;
                continue;
            }
            /* A text seen in this chunk, up to the first \r or the line end, is an
             * event text as it stands: look it up before checking it. */
            if (any_cr && (!crs || (cr != NULL && cr < t))) {
                cr = memchr(t, '\r', (size_t)(line_end - t));
                crs = 1;
            }
            const char *next = cr != NULL ? cr : line_end;
            size_t slot;
            PyObject *info = find(&table, t, next - t, hash_text(t, next - t), &slot);
            if (info == NULL) {
                next = event_text(t, end);
                if (next == NULL) {
                    p++;
                    continue;
                }
                if (next > line_end) { /* [=\s] took the newline: a damaged line */
                    fallback = 1;
                    break;
                }
                info = decode(&table, decoded, t, next - t);
                if (info == NULL)
                    goto done;
            }
            matched = 1;
            Row row;
            if (info == Py_None || !digits_value(h.cpu, h.cpu_len, &row.cpu)
                || !stamp_ns(&h, &row.ts)) {
                fallback = 1;
                break;
            }
            row.info = info;
            if (n == cap) {
                Row *more = PyMem_Realloc(rows, (size_t)(cap *= 2) * sizeof(Row));
                if (more == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                rows = more;
            }
            rows[n++] = row;
            if (n == 1)
                first = h.fraction;
            last = h.fraction;
            if (row.cpu > max_cpu)
                max_cpu = row.cpu;
            p = next;
        }
        if (!matched && nl != NULL && has_lost(line, nl)) {
            PyObject *text = PyBytes_FromStringAndSize(line, nl + 1 - line);
            if (text == NULL || PyList_Append(lost, text)) {
                Py_XDECREF(text);
                goto done;
            }
            Py_DECREF(text);
        }
        if (nl == NULL)
            break;
        lines++;
        line = nl + 1;
    }
    if (fallback) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *cols = build(rows, n);
    if (cols == NULL)
        goto done;
    PyObject *empty = PyBytes_FromStringAndSize("", 0), *joined = NULL;
    if (empty != NULL) {
        joined = PyObject_CallMethod(empty, "join", "O", lost);
        Py_DECREF(empty);
    }
    if (joined == NULL) {
        Py_DECREF(cols);
        goto done;
    }
    result = Py_BuildValue("(NnNiiL)", cols, lines, joined, first, last, (long long)max_cpu);
done:
    if (table.slots != NULL) {
        for (size_t i = 0; i < TABLE_SIZE; i++)
            Py_XDECREF(table.slots[i].value);
        PyMem_Free(table.slots);
    }
    Py_XDECREF(table.held);
    Py_XDECREF(lost);
    PyMem_Free(rows);
    PyBuffer_Release(&buf);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "The events of a chunk of ftrace text as columns (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ftrace_scan",
    "What EVENT_RE.findall finds in a chunk of ftrace text, decoded, as columns, in C.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__ftrace_scan(void) { return PyModule_Create(&module); }
