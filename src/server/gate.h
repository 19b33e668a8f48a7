/*
 * Spreading connections over the workers. All workers accept from one
 * listening socket; a worker whose count of open connections is above the
 * lowest count of any worker stops accepting until the counts even out,
 * so the next connection goes to a least-loaded worker.
 *
 * With a listening socket per worker (SO_REUSEPORT) the kernel picks the
 * worker by a hash of the client's address and port, which ignores load:
 * eight keep-alive connections could land six and two, or eight and none,
 * and the loaded worker's queue set the p99 (5.5 ms balanced against
 * 6-8.5 ms unbalanced at 8 connections, bench/run's /sign on 2 cores).
 *
 * Each worker owns one slot and is the only thread that touches its
 * listener. Counts are atomics; when one changes, every other worker that
 * is not accepting is woken (event_active) to look again, in its own
 * thread. At least the worker with the lowest count always accepts.
 */
#ifndef SUBCA_SERVER_GATE_H
#define SUBCA_SERVER_GATE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "subca/error.h"

struct subca_gate;

struct subca_gate_slot {
	struct subca_gate *gate;
	int index;
	atomic_long conns;
	atomic_bool held; /* not accepting: wake me when counts change */
	atomic_bool gone; /* detached: no longer counts against the others */
	struct evconnlistener *listener; /* the owner thread's; NULL: none */
	struct event *wake;
};

struct subca_gate {
	struct subca_gate_slot *slots;
	int n;
	atomic_bool closed; /* tearing down: nobody is woken any more */
};

SUBCA_MUST_CHECK subca_result subca_gate_init(struct subca_gate *g, int n);

/* Slot i's listener and the event base of its thread (before it runs). */
SUBCA_MUST_CHECK subca_result subca_gate_attach(struct subca_gate *g, int i,
						struct evconnlistener *l,
						struct event_base *base);

/* Slot i stops accepting for good (its thread, before it frees l); the
 * others accept without regard to its connections from then on. */
void subca_gate_detach(struct subca_gate *g, int i);

/* Slot i opened (+1) or closed (-1) a connection (its thread). */
void subca_gate_count(struct subca_gate *g, int i, long delta);

/* No more wake-ups (every worker thread has stopped). */
void subca_gate_close(struct subca_gate *g);

/* Frees slot i's event: before its event base is freed. */
void subca_gate_release(struct subca_gate *g, int i);

void subca_gate_cleanup(struct subca_gate *g);

#endif
