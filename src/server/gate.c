/*
 * Spreading connections over the workers: see gate.h.
 */
#include "gate.h"

#include "subca/alloc.h"

/* Slot i accepts while no accepting worker has fewer connections than it
 * has (a draining worker's do not count). */
static bool subca__gate_open_for(struct subca_gate *g, int i)
{
	long mine = atomic_load(&g->slots[i].conns);

	for (int j = 0; j < g->n; j++)
		if (j != i && !atomic_load(&g->slots[j].gone) &&
		    atomic_load(&g->slots[j].conns) < mine)
			return false;
	return true;
}

/* Slot i's counts changed, or it left: the held others look again. */
static void subca__gate_wake_others(struct subca_gate *g, int i)
{
	if (atomic_load(&g->closed))
		return;
	for (int j = 0; j < g->n; j++)
		if (j != i && atomic_load(&g->slots[j].held) &&
		    g->slots[j].wake != NULL)
			event_active(g->slots[j].wake, EV_READ, 0);
}

/* Slot i's thread: accept or not, by the counts as they are now. */
static void subca__gate_apply(struct subca_gate *g, int i)
{
	struct subca_gate_slot *s = &g->slots[i];
	bool open;

	if (s->listener == NULL)
		return;
	open = subca__gate_open_for(g, i);
	/* published before looking again: a count that moves after this
	 * wakes this slot */
	atomic_store(&s->held, !open);
	if (!open && subca__gate_open_for(g, i)) {
		atomic_store(&s->held, false);
		open = true;
	}
	if (open)
		(void)evconnlistener_enable(s->listener);
	else
		(void)evconnlistener_disable(s->listener);
}

static void subca__gate_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct subca_gate_slot *s = arg;

	(void)fd;
	(void)what;
	subca__gate_apply(s->gate, s->index);
}

subca_result subca_gate_init(struct subca_gate *g, int n)
{
	g->n = 0;
	atomic_init(&g->closed, false);
	g->slots = subca_calloc((size_t)n, sizeof(*g->slots));
	SUBCA_ENSURE(g->slots != NULL, SUBCA_E_NOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		g->slots[i].gate = g;
		g->slots[i].index = i;
		atomic_init(&g->slots[i].conns, 0);
		atomic_init(&g->slots[i].held, false);
		atomic_init(&g->slots[i].gone, false);
	}
	g->n = n;
	return SUBCA_OK;
}

subca_result subca_gate_attach(struct subca_gate *g, int i,
			       struct evconnlistener *l,
			       struct event_base *base)
{
	struct subca_gate_slot *s = &g->slots[i];

	s->wake = event_new(base, -1, 0, subca__gate_wake_cb, s);
	SUBCA_ENSURE(s->wake != NULL, SUBCA_E_NOMEM, "out of memory");
	s->listener = l;
	return SUBCA_OK;
}

void subca_gate_detach(struct subca_gate *g, int i)
{
	g->slots[i].listener = NULL;
	atomic_store(&g->slots[i].held, false);
	atomic_store(&g->slots[i].gone, true);
	subca__gate_wake_others(g, i);
}

void subca_gate_count(struct subca_gate *g, int i, long delta)
{
	atomic_fetch_add(&g->slots[i].conns, delta);
	if (atomic_load(&g->closed))
		return;
	subca__gate_apply(g, i);
	subca__gate_wake_others(g, i);
}

void subca_gate_close(struct subca_gate *g)
{
	atomic_store(&g->closed, true);
}

void subca_gate_release(struct subca_gate *g, int i)
{
	if (g->slots == NULL || i >= g->n)
		return;
	if (g->slots[i].wake != NULL)
		event_free(g->slots[i].wake);
	g->slots[i].wake = NULL;
	g->slots[i].listener = NULL;
}

void subca_gate_cleanup(struct subca_gate *g)
{
	subca_free(g->slots);
	g->slots = NULL;
	g->n = 0;
}
