/*
 * gate.c: which workers accept from the shared listening socket. Two real
 * event bases, each with a listener on one loopback socket, driven one
 * loop pass at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "../../src/server/gate.h"

struct gx {
	struct subca_gate gate;
	struct event_base *base[2];
	struct evconnlistener *l[2];
	int accepted[2];
	int fd;
	struct sockaddr_in addr;
	int clients[8];
	int nclients;
};

static void gx_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int len, void *arg)
{
	int *n = arg;

	(void)l;
	(void)sa;
	(void)len;
	(*n)++;
	close(fd);
}

static int gx_setup(void **state)
{
	struct gx *x = calloc(1, sizeof(*x));
	socklen_t len = sizeof(x->addr);

	assert_non_null(x);
	x->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(x->fd >= 0);
	x->addr.sin_family = AF_INET;
	x->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(x->fd, (struct sockaddr *)&x->addr,
			      sizeof(x->addr)), 0);
	assert_int_equal(listen(x->fd, 16), 0);
	assert_int_equal(getsockname(x->fd, (struct sockaddr *)&x->addr, &len),
			 0);
	assert_int_equal(subca_gate_init(&x->gate, 2), SUBCA_OK);
	for (int i = 0; i < 2; i++) {
		x->base[i] = event_base_new();
		assert_non_null(x->base[i]);
		x->l[i] = evconnlistener_new(x->base[i], gx_accept,
					     &x->accepted[i], 0, 0, x->fd);
		assert_non_null(x->l[i]);
		assert_int_equal(subca_gate_attach(&x->gate, i, x->l[i],
						   x->base[i]),
				 SUBCA_OK);
	}
	*state = x;
	return 0;
}

static int gx_teardown(void **state)
{
	struct gx *x = *state;

	subca_gate_close(&x->gate);
	for (int i = 0; i < 2; i++) {
		subca_gate_release(&x->gate, i);
		evconnlistener_free(x->l[i]);
		event_base_free(x->base[i]);
	}
	subca_gate_cleanup(&x->gate);
	for (int i = 0; i < x->nclients; i++)
		close(x->clients[i]);
	close(x->fd);
	free(x);
	return 0;
}

/* One client connection, queued on the shared socket. */
static void gx_connect(struct gx *x)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&x->addr,
				 sizeof(x->addr)), 0);
	x->clients[x->nclients++] = c;
}

/* Run one pass of worker i's loop (without waiting). */
static void gx_run(struct gx *x, int i)
{
	/* 1: nothing was pending (a held listener) */
	assert_true(event_base_loop(x->base[i], EVLOOP_NONBLOCK) >= 0);
}

/* A client connects, worker i runs once; i has then accepted `want` in all. */
static void gx_offer(struct gx *x, int i, int want)
{
	gx_connect(x);
	gx_run(x, i);
	assert_int_equal(x->accepted[i], want);
}

static void test_gate_both_accept_while_even(void **state)
{
	struct gx *x = *state;

	gx_offer(x, 1, 1);
	gx_offer(x, 0, 1);
}

static void test_gate_holds_the_worker_with_more(void **state)
{
	struct gx *x = *state;

	/* worker 0 has a connection, worker 1 none: 0 waits */
	subca_gate_count(&x->gate, 0, 1);
	assert_true(atomic_load(&x->gate.slots[0].held));
	assert_false(atomic_load(&x->gate.slots[1].held));
	gx_offer(x, 0, 0);
	gx_run(x, 1);
	assert_int_equal(x->accepted[1], 1);
}

static void test_gate_wakes_the_held_worker_when_counts_even_out(void **state)
{
	struct gx *x = *state;

	subca_gate_count(&x->gate, 0, 1);
	subca_gate_count(&x->gate, 0, 1); /* 2 against 0: held */
	assert_true(atomic_load(&x->gate.slots[0].held));
	/* worker 1 takes two: even again; worker 0 learns it on its loop */
	subca_gate_count(&x->gate, 1, 1);
	subca_gate_count(&x->gate, 1, 1);
	gx_run(x, 0); /* the wake-up */
	assert_false(atomic_load(&x->gate.slots[0].held));
	gx_offer(x, 0, 1);
}

static void test_gate_reopens_after_its_connections_close(void **state)
{
	struct gx *x = *state;

	subca_gate_count(&x->gate, 0, 1);
	assert_true(atomic_load(&x->gate.slots[0].held));
	subca_gate_count(&x->gate, 0, -1);
	assert_false(atomic_load(&x->gate.slots[0].held));
	gx_offer(x, 0, 1);
}

/* A draining worker's connections do not hold the others: it left with
 * none, the other has some, and the other is woken to accept. */
static void test_gate_a_detached_worker_holds_nobody(void **state)
{
	struct gx *x = *state;

	subca_gate_count(&x->gate, 1, 1);
	assert_true(atomic_load(&x->gate.slots[1].held));
	subca_gate_detach(&x->gate, 0);
	assert_int_equal(evconnlistener_disable(x->l[0]), 0);
	gx_run(x, 1); /* the wake-up */
	assert_false(atomic_load(&x->gate.slots[1].held));
	gx_offer(x, 1, 1);
	assert_int_equal(x->accepted[0], 0);
}

/* A detached slot (a draining worker) is never enabled again, and a
 * closed gate wakes nobody. */
static void test_gate_leaves_detached_and_closed_alone(void **state)
{
	struct gx *x = *state;

	subca_gate_detach(&x->gate, 0);
	assert_int_equal(evconnlistener_disable(x->l[0]), 0);
	subca_gate_count(&x->gate, 1, 1);
	subca_gate_count(&x->gate, 1, -1);
	gx_offer(x, 0, 0);
	subca_gate_close(&x->gate);
	subca_gate_count(&x->gate, 1, 5);
	assert_false(atomic_load(&x->gate.slots[1].held));
	assert_int_equal(atomic_load(&x->gate.slots[1].conns), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gate_both_accept_while_even,
						gx_setup, gx_teardown),
		cmocka_unit_test_setup_teardown(
			test_gate_holds_the_worker_with_more, gx_setup,
			gx_teardown),
		cmocka_unit_test_setup_teardown(
			test_gate_wakes_the_held_worker_when_counts_even_out,
			gx_setup, gx_teardown),
		cmocka_unit_test_setup_teardown(
			test_gate_reopens_after_its_connections_close,
			gx_setup, gx_teardown),
		cmocka_unit_test_setup_teardown(
			test_gate_a_detached_worker_holds_nobody, gx_setup,
			gx_teardown),
		cmocka_unit_test_setup_teardown(
			test_gate_leaves_detached_and_closed_alone, gx_setup,
			gx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
