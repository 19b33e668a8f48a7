/*
 * A small HTTPS load generator for bench/run: N keep-alive TLS connections
 * (one thread each), each sending POST requests back to back, with request
 * bodies taken in turn from a file (one body per line, so pre-generated
 * CSRs are sent rather than made on the fly). Prints one line:
 *
 *     loadgen ok=N errors=E seconds=S per_sec=R p50_ms=A p99_ms=B max_ms=C
 *
 * Usage:
 *     loadgen --port P --path /a/bench/sign --bodies FILE
 *             [--host 127.0.0.1] [--header "Name: value"]...
 *             [--connections N] [--seconds S] [--warmup S]
 *     loadgen --first TIMEOUT ...   (send one request again and again
 *             until one succeeds; prints first_ok_unix_ns=...)
 *
 * The server's certificate is not verified: bench/run talks to servers it
 * has just started on 127.0.0.1. Only 2xx answers count as ok; the first
 * failing answer is shown on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LG_MAX_HEADERS 8
#define LG_MAX_BODIES 100000
#define LG_RESP_MAX (1u << 20)

struct lg_opts {
	const char *host;
	int port;
	const char *path;
	const char *headers[LG_MAX_HEADERS];
	int nheaders;
	const char *bodies_file;
	int connections;
	double seconds, warmup, first;
};

struct lg_bodies {
	char **v;
	size_t *len;
	size_t n;
};

struct lg_shared {
	const struct lg_opts *o;
	const struct lg_bodies *b;
	SSL_CTX *ctx;
	struct sockaddr_in addr;
	atomic_int phase; /* 0 warm-up, 1 measure, 2 stop */
	atomic_int shown; /* the first failure was printed */
};

struct lg_conn {
	struct lg_shared *sh;
	int index;
	int fd;
	SSL *ssl;
	char *resp;
	size_t resp_len;
	uint32_t *lat_us; /* measured latencies */
	size_t nlat, caplat;
	unsigned long ok, errors;
};

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(2);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- bodies ---------------------------------------------------------------- */

static void bodies_load(const char *path, struct lg_bodies *b)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		die("cannot open the bodies file");
	b->v = calloc(LG_MAX_BODIES, sizeof(*b->v));
	b->len = calloc(LG_MAX_BODIES, sizeof(*b->len));
	if (b->v == NULL || b->len == NULL)
		die("out of memory");
	while (b->n < LG_MAX_BODIES && (n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		b->v[b->n] = strdup(line);
		if (b->v[b->n] == NULL)
			die("out of memory");
		b->len[b->n++] = (size_t)n;
	}
	free(line);
	fclose(f);
	if (b->n == 0)
		die("the bodies file is empty");
}

/* ---- one connection -------------------------------------------------------- */

static void conn_close(struct lg_conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

static bool conn_open(struct lg_conn *c)
{
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&c->sh->addr,
		    sizeof(c->sh->addr)) != 0)
		goto fail;
	c->ssl = SSL_new(c->sh->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, c->sh->o->host) != 1 ||
	    SSL_connect(c->ssl) != 1)
		goto fail;
	return true;
fail:
	ERR_clear_error();
	conn_close(c);
	return false;
}

static bool write_all(SSL *ssl, const char *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read more into c->resp; false on EOF or error. */
static bool read_more(struct lg_conn *c)
{
	int r;

	if (c->resp_len + 1 >= LG_RESP_MAX)
		return false;
	r = SSL_read(c->ssl, c->resp + c->resp_len,
		     (int)(LG_RESP_MAX - 1 - c->resp_len));
	if (r <= 0)
		return false;
	c->resp_len += (size_t)r;
	c->resp[c->resp_len] = '\0';
	return true;
}

static const char *header_value(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p != NULL;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n;
	}
	return NULL;
}

/* A chunked body starting at `b` is complete: its total length, else 0. */
static size_t chunked_end(const char *b, const char *end)
{
	const char *p = b;

	for (;;) {
		char *after;
		unsigned long sz = strtoul(p, &after, 16);
		const char *crlf = strstr(p, "\r\n");

		if (crlf == NULL || crlf >= end || after == p)
			return 0;
		p = crlf + 2 + sz + 2;
		if (p > end)
			return 0;
		if (sz == 0)
			return (size_t)(p - b);
	}
}

/*
 * Read one response; *status is its HTTP status, *close whether the server
 * ends the connection. Bytes past the response (none, with one request in
 * flight) are dropped. False when the connection failed.
 */
static bool read_response(struct lg_conn *c, int *status, bool *close_it)
{
	char *hend;
	size_t head_len, body_len = 0;
	const char *v;

	c->resp_len = 0;
	c->resp[0] = '\0';
	while ((hend = strstr(c->resp, "\r\n\r\n")) == NULL)
		if (!read_more(c))
			return false;
	head_len = (size_t)(hend - c->resp) + 4;
	if (sscanf(c->resp, "HTTP/1.%*d %d", status) != 1)
		return false;
	*hend = '\0'; /* header lookups stay in the head */
	v = header_value(c->resp, "Connection");
	*close_it = v != NULL && strstr(v, "close") != NULL;
	if ((v = header_value(c->resp, "Content-Length")) != NULL) {
		body_len = strtoul(v, NULL, 10);
		*hend = '\r';
		while (c->resp_len < head_len + body_len)
			if (!read_more(c))
				return false;
		return true;
	}
	v = header_value(c->resp, "Transfer-Encoding");
	*hend = '\r';
	if (v == NULL || strstr(v, "chunked") == NULL)
		return false;
	while (chunked_end(c->resp + head_len, c->resp + c->resp_len) == 0)
		if (!read_more(c))
			return false;
	return true;
}

static void show_failure(struct lg_conn *c, int status)
{
	int zero = 0;

	if (!atomic_compare_exchange_strong(&c->sh->shown, &zero, 1))
		return;
	fprintf(stderr, "loadgen: first failure: status %d: %.600s\n", status,
		c->resp_len ? c->resp : "(connection failed)");
}

/* One request and its response; false when the connection failed. */
static bool one_request(struct lg_conn *c, size_t k, int *status)
{
	const struct lg_opts *o = c->sh->o;
	const struct lg_bodies *b = c->sh->b;
	char head[4096];
	int n = snprintf(head, sizeof(head),
			 "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n",
			 o->path, o->host, o->port, b->len[k]);
	bool close_it = false;

	for (int i = 0; i < o->nheaders && n > 0 && (size_t)n < sizeof(head);
	     i++)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
			      o->headers[i]);
	if (n <= 0 || (size_t)n + 3 > sizeof(head))
		die("request headers too long");
	memcpy(head + n, "\r\n", 3);
	n += 2;
	*status = 0;
	if (c->ssl == NULL && !conn_open(c))
		return false;
	if (!write_all(c->ssl, head, (size_t)n) ||
	    !write_all(c->ssl, b->v[k], b->len[k]) ||
	    !read_response(c, status, &close_it)) {
		conn_close(c);
		return false;
	}
	if (close_it)
		conn_close(c);
	return true;
}

static void lat_add(struct lg_conn *c, double secs)
{
	if (c->nlat == c->caplat) {
		size_t cap = c->caplat ? c->caplat * 2 : 4096;
		uint32_t *p = realloc(c->lat_us, cap * sizeof(*p));

		if (p == NULL)
			die("out of memory");
		c->lat_us = p;
		c->caplat = cap;
	}
	c->lat_us[c->nlat++] = (uint32_t)(secs * 1e6);
}

static void *conn_main(void *arg)
{
	struct lg_conn *c = arg;
	size_t k = (size_t)c->index * 7919u;

	while (atomic_load(&c->sh->phase) < 2) {
		int phase = atomic_load(&c->sh->phase), status;
		double t0 = now_s();
		bool ok = one_request(c, k++ % c->sh->b->n, &status);
		double dt = now_s() - t0;

		ok = ok && status >= 200 && status < 300;
		if (!ok)
			show_failure(c, status);
		if (phase != 1 || atomic_load(&c->sh->phase) != 1)
			continue; /* warm-up, or finished after the end */
		if (ok) {
			c->ok++;
			lat_add(c, dt);
		} else {
			c->errors++;
		}
	}
	conn_close(c);
	return NULL;
}

/* ---- the run ------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void sleep_s(double s)
{
	struct timespec d = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
}

static void report(struct lg_conn *c, int n, double secs)
{
	unsigned long ok = 0, errors = 0;
	size_t total = 0, at = 0;
	uint32_t *all;

	for (int i = 0; i < n; i++) {
		ok += c[i].ok;
		errors += c[i].errors;
		total += c[i].nlat;
	}
	all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		memcpy(all + at, c[i].lat_us, c[i].nlat * sizeof(*all));
		at += c[i].nlat;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	printf("loadgen ok=%lu errors=%lu seconds=%.2f per_sec=%.1f "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       ok, errors, secs, (double)ok / secs,
	       total ? all[total / 2] / 1000.0 : 0.0,
	       total ? all[(total * 99) / 100] / 1000.0 : 0.0,
	       total ? all[total - 1] / 1000.0 : 0.0);
	free(all);
}

static int run_load(struct lg_shared *sh)
{
	int n = sh->o->connections;
	struct lg_conn *c = calloc((size_t)n, sizeof(*c));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	double t0, t1;

	if (c == NULL || t == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		c[i] = (struct lg_conn){.sh = sh, .index = i, .fd = -1};
		c[i].resp = malloc(LG_RESP_MAX);
		if (c[i].resp == NULL)
			die("out of memory");
		if (pthread_create(&t[i], NULL, conn_main, &c[i]) != 0)
			die("cannot start a thread");
	}
	sleep_s(sh->o->warmup);
	t0 = now_s();
	atomic_store(&sh->phase, 1);
	sleep_s(sh->o->seconds);
	atomic_store(&sh->phase, 2);
	t1 = now_s();
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	report(c, n, t1 - t0);
	for (int i = 0; i < n; i++) {
		free(c[i].resp);
		free(c[i].lat_us);
	}
	free(c);
	free(t);
	return 0;
}

/* Until one request succeeds (a server just started): when it did. */
static int run_first(struct lg_shared *sh)
{
	struct lg_conn c = {.sh = sh, .fd = -1};
	double deadline = now_s() + sh->o->first;
	struct timespec wall;

	c.resp = malloc(LG_RESP_MAX);
	if (c.resp == NULL)
		die("out of memory");
	for (;;) {
		int status = 0;

		if (one_request(&c, 0, &status) && status >= 200 && status < 300)
			break;
		conn_close(&c);
		if (now_s() > deadline) {
			show_failure(&c, status);
			return 1;
		}
		sleep_s(0.001);
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	printf("first_ok_unix_ns=%lld\n",
	       (long long)wall.tv_sec * 1000000000LL + wall.tv_nsec);
	conn_close(&c);
	free(c.resp);
	return 0;
}

static void opts_parse(int argc, char **argv, struct lg_opts *o)
{
	*o = (struct lg_opts){.host = "127.0.0.1", .connections = 1,
			      .seconds = 10, .warmup = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			die("an option needs a value");
		i++;
		if (strcmp(a, "--host") == 0)
			o->host = v;
		else if (strcmp(a, "--port") == 0)
			o->port = atoi(v);
		else if (strcmp(a, "--path") == 0)
			o->path = v;
		else if (strcmp(a, "--bodies") == 0)
			o->bodies_file = v;
		else if (strcmp(a, "--connections") == 0)
			o->connections = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			o->seconds = atof(v);
		else if (strcmp(a, "--warmup") == 0)
			o->warmup = atof(v);
		else if (strcmp(a, "--first") == 0)
			o->first = atof(v);
		else if (strcmp(a, "--header") == 0 &&
			 o->nheaders < LG_MAX_HEADERS)
			o->headers[o->nheaders++] = v;
		else
			die("unknown option (see the comment at the top of "
			    "bench/loadgen.c)");
	}
	if (o->port <= 0 || o->port > 65535 || o->path == NULL ||
	    o->bodies_file == NULL || o->connections < 1 ||
	    o->connections > 4096 || o->seconds <= 0 || o->warmup < 0)
		die("need --port, --path, --bodies; --connections 1..4096");
}

int main(int argc, char **argv)
{
	struct lg_opts o;
	struct lg_bodies b = {0};
	struct lg_shared sh = {0};

	opts_parse(argc, argv, &o);
	bodies_load(o.bodies_file, &b);
	sh.o = &o;
	sh.b = &b;
	sh.addr.sin_family = AF_INET;
	sh.addr.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.host, &sh.addr.sin_addr) != 1)
		die("--host must be an IPv4 address");
	sh.ctx = SSL_CTX_new(TLS_client_method());
	if (sh.ctx == NULL)
		die("cannot create a TLS context");
	SSL_CTX_set_verify(sh.ctx, SSL_VERIFY_NONE, NULL);
	signal(SIGPIPE, SIG_IGN);
	return o.first > 0 ? run_first(&sh) : run_load(&sh);
}
