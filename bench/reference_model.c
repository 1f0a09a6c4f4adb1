/* The reference model of reference_model.py, written as a plain C event loop:
 * the limit a simulator of this model can reach on this machine.
 *
 * 4 devices with Poisson arrivals (each its own request queue), device d served
 * by CPU d % 2; devices 0 and 1 are priority class 0 (served first, never
 * preempting), devices 2 and 3 class 1; service takes SERVICE_NS.  Events sit
 * in one binary heap ordered by (time, sequence), as in irqlab's engine.
 *
 * Arrivals are drawn exactly as irqlab draws them: CPython's MT19937 seeded
 * with init_by_array from the key words the bench passes (the 64-bit seed of
 * irqlab.sim.rng.stream), random() = genrand_res53, gap = int(-log(1 - random())
 * * mean + 0.5); so the mean waits agree with irqlab's to the last digit.
 *
 * usage: reference_model N RATE_PER_S SERVICE_NS KEY0_LO KEY0_HI ... KEY3_LO KEY3_HI
 * prints: served loop_ns wait_sum_p0 served_p0 wait_sum_p1 served_p1
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- MT19937 as CPython's _randommodule.c ---- */
#define MT_N 624
#define MT_M 397
typedef struct { uint32_t mt[MT_N]; int mti; } mt_state;

static void init_genrand(mt_state *s, uint32_t seed) {
    s->mt[0] = seed;
    for (int i = 1; i < MT_N; i++)
        s->mt[i] = 1812433253U * (s->mt[i - 1] ^ (s->mt[i - 1] >> 30)) + (uint32_t)i;
    s->mti = MT_N;
}

static void init_by_array(mt_state *s, const uint32_t *key, int len) {
    init_genrand(s, 19650218U);
    int i = 1, j = 0;
    for (int k = MT_N > len ? MT_N : len; k; k--) {
        s->mt[i] = (s->mt[i] ^ ((s->mt[i - 1] ^ (s->mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint32_t)j;
        i++; j++;
        if (i >= MT_N) { s->mt[0] = s->mt[MT_N - 1]; i = 1; }
        if (j >= len) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        s->mt[i] = (s->mt[i] ^ ((s->mt[i - 1] ^ (s->mt[i - 1] >> 30)) * 1566083941U)) - (uint32_t)i;
        i++;
        if (i >= MT_N) { s->mt[0] = s->mt[MT_N - 1]; i = 1; }
    }
    s->mt[0] = 0x80000000U;
}

static uint32_t genrand(mt_state *s) {
    static const uint32_t mag01[2] = {0x0U, 0x9908b0dfU};
    uint32_t y;
    if (s->mti >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (s->mt[kk] & 0x80000000U) | (s->mt[kk + 1] & 0x7fffffffU);
            s->mt[kk] = s->mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1U];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (s->mt[kk] & 0x80000000U) | (s->mt[kk + 1] & 0x7fffffffU);
            s->mt[kk] = s->mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1U];
        }
        y = (s->mt[MT_N - 1] & 0x80000000U) | (s->mt[0] & 0x7fffffffU);
        s->mt[MT_N - 1] = s->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1U];
        s->mti = 0;
    }
    y = s->mt[s->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

static double random_res53(mt_state *s) {
    uint32_t a = genrand(s) >> 5, b = genrand(s) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* ---- the event heap: (time, seq) order ---- */
enum { ARRIVE, DONE };
typedef struct { int64_t t; uint64_t seq; int kind, who; } event;
static event heap[16];
static int heap_n;
static uint64_t seq;

static int before(const event *a, const event *b) {
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(int64_t t, int kind, int who) {
    int i = heap_n++;
    event e = {t, ++seq, kind, who};
    while (i && before(&e, &heap[(i - 1) / 2])) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
    heap[i] = e;
}

static event pop(void) {
    event top = heap[0], last = heap[--heap_n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= heap_n) break;
        if (c + 1 < heap_n && before(&heap[c + 1], &heap[c])) c++;
        if (!before(&heap[c], &last)) break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = last;
    return top;
}

/* ---- the model ---- */
#define DEVICES 4
#define QCAP (1 << 16) /* arrival timestamps waiting per device (a ring) */
typedef struct { int64_t q[QCAP]; unsigned head, tail; mt_state rng; double mean; } device;
static device dev[DEVICES];
static int busy[2];
static int64_t wait_sum[2], served_cls[2], served;

static int64_t gap(device *d) { return (int64_t)(-log(1.0 - random_res53(&d->rng)) * d->mean + 0.5); }

/* CPU c takes its class-0 device's oldest request, else its class-1 one's. */
static void serve_next(int c, int64_t now, int64_t service) {
    for (int cls = 0; cls < 2; cls++) {
        device *d = &dev[c + 2 * cls];
        if (d->head != d->tail) {
            wait_sum[cls] += now - d->q[d->head++ % QCAP];
            served_cls[cls]++;
            busy[c] = 1;
            push(now + service, DONE, c);
            return;
        }
    }
    busy[c] = 0;
}

int main(int argc, char **argv) {
    if (argc != 4 + 2 * DEVICES) {
        fprintf(stderr, "usage: %s N RATE_PER_S SERVICE_NS KEY0_LO KEY0_HI ... KEY3_LO KEY3_HI\n", argv[0]);
        return 2;
    }
    int64_t n = atoll(argv[1]), service = atoll(argv[3]);
    double rate = atof(argv[2]);
    for (int d = 0; d < DEVICES; d++) {
        uint32_t key[2] = {(uint32_t)strtoul(argv[4 + 2 * d], 0, 10), (uint32_t)strtoul(argv[5 + 2 * d], 0, 10)};
        init_by_array(&dev[d].rng, key, key[1] ? 2 : 1);
        dev[d].mean = 1e9 / rate;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (int d = 0; d < DEVICES; d++) push(gap(&dev[d]), ARRIVE, d);
    while (served < n) {
        event e = pop();
        if (e.kind == ARRIVE) {
            device *d = &dev[e.who];
            if (d->tail - d->head == QCAP) { fprintf(stderr, "queue of device %d overflowed\n", e.who); return 1; }
            d->q[d->tail++ % QCAP] = e.t;
            int c = e.who % 2;
            if (!busy[c]) serve_next(c, e.t, service);
            push(e.t + gap(d), ARRIVE, e.who);
        } else {
            served++;
            serve_next(e.who, e.t, service);
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    long long loop_ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("%lld %lld %lld %lld %lld %lld\n", (long long)served, loop_ns, (long long)wait_sum[0],
           (long long)served_cls[0], (long long)wait_sum[1], (long long)served_cls[1]);
    return 0;
}
