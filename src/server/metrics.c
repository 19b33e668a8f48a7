/*
 * Process-wide metrics, exposed at /metrics in the Prometheus text format
 * (version 0.0.4). Every worker thread records into the same counters under
 * one mutex: a handful of additions per request. Label sets are bounded so
 * that untrusted requests cannot grow memory: unknown routes share the
 * label "none", methods outside the usual ones are "other", and past
 * SUBCA__MAX_SERIES issuance label sets new ones count as "other".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "server_int.h"
#include "subca/alloc.h"

#define SUBCA__MAX_SERIES 1024

static const double subca__latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
#define SUBCA__NLAT (sizeof(subca__latency_buckets) / sizeof(double))

static const double subca__batch_buckets[] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
};
#define SUBCA__NBATCH (sizeof(subca__batch_buckets) / sizeof(double))

static const char *const subca__methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
};
#define SUBCA__NMETHODS (sizeof(subca__methods) / sizeof(subca__methods[0]))

struct subca__histogram {
	uint64_t buckets[SUBCA__NLAT > SUBCA__NBATCH ? SUBCA__NLAT
						      : SUBCA__NBATCH];
	uint64_t count;
	double sum;
};

struct subca__req_series {
	size_t route; /* index into the table, nroutes = "none" */
	size_t method;
	int status;
	uint64_t count;
};

struct subca__iss_series {
	char authority[SUBCA_MAX_LABEL + 1];
	char provisioner[64];
	char result[48];
	uint64_t count;
};

static struct {
	pthread_mutex_t mu;
	const struct subca_route *routes;
	size_t nroutes;
	struct subca__histogram *latency; /* nroutes + 1 */
	struct subca__req_series *reqs;
	size_t nreqs;
	struct subca__iss_series *iss;
	size_t niss;
	struct subca__histogram batch;
} subca__m = {.mu = PTHREAD_MUTEX_INITIALIZER};

subca_result subca_metrics_init(const struct subca_route *routes, size_t n)
{
	subca_result rv = SUBCA_OK;

	pthread_mutex_lock(&subca__m.mu);
	if (subca__m.latency == NULL) {
		subca__m.latency = subca_calloc(n + 1, sizeof(*subca__m.latency));
		subca__m.reqs = subca_calloc(SUBCA__MAX_SERIES,
					     sizeof(*subca__m.reqs));
		subca__m.iss = subca_calloc(SUBCA__MAX_SERIES,
					    sizeof(*subca__m.iss));
		subca__m.routes = routes;
		subca__m.nroutes = n;
		if (!subca__m.latency || !subca__m.reqs || !subca__m.iss)
			rv = subca_error_set(SUBCA_E_NOMEM, __FILE__, __LINE__,
					     "out of memory");
	}
	pthread_mutex_unlock(&subca__m.mu);
	if (rv != SUBCA_OK)
		subca_metrics_cleanup();
	return rv;
}

void subca_metrics_cleanup(void)
{
	pthread_mutex_lock(&subca__m.mu);
	subca_free(subca__m.latency);
	subca_free(subca__m.reqs);
	subca_free(subca__m.iss);
	subca__m.latency = NULL;
	subca__m.reqs = NULL;
	subca__m.iss = NULL;
	subca__m.nreqs = subca__m.niss = 0;
	memset(&subca__m.batch, 0, sizeof(subca__m.batch));
	pthread_mutex_unlock(&subca__m.mu);
}

static void subca__observe(struct subca__histogram *h, const double *bounds,
			   size_t nb, double v)
{
	for (size_t i = 0; i < nb; i++)
		if (v <= bounds[i])
			h->buckets[i]++;
	h->count++;
	h->sum += v;
}

static size_t subca__method_index(const char *m)
{
	for (size_t i = 0; i + 1 < SUBCA__NMETHODS; i++)
		if (m != NULL && strcmp(m, subca__methods[i]) == 0)
			return i;
	return SUBCA__NMETHODS - 1;
}

static void subca__count_request(size_t route, size_t method, int status)
{
	struct subca__req_series *s;

	for (size_t i = 0; i < subca__m.nreqs; i++) {
		s = &subca__m.reqs[i];
		if (s->route == route && s->method == method &&
		    s->status == status) {
			s->count++;
			return;
		}
	}
	/* routes x methods x statuses is small; the cap is a safety net */
	if (subca__m.nreqs == SUBCA__MAX_SERIES)
		return;
	s = &subca__m.reqs[subca__m.nreqs++];
	s->route = route;
	s->method = method;
	s->status = status;
	s->count = 1;
}

void subca_metrics_request(const struct subca_route *route, const char *method,
			   int status, double seconds)
{
	size_t r;

	pthread_mutex_lock(&subca__m.mu);
	if (subca__m.latency != NULL) {
		r = route != NULL && route >= subca__m.routes &&
				    route < subca__m.routes + subca__m.nroutes
			    ? (size_t)(route - subca__m.routes)
			    : subca__m.nroutes;
		subca__count_request(r, subca__method_index(method), status);
		subca__observe(&subca__m.latency[r], subca__latency_buckets,
			       SUBCA__NLAT, seconds);
	}
	pthread_mutex_unlock(&subca__m.mu);
}

static void subca__iss_set(struct subca__iss_series *s, const char *a,
			   const char *p, const char *r)
{
	snprintf(s->authority, sizeof(s->authority), "%s", a);
	snprintf(s->provisioner, sizeof(s->provisioner), "%s", p);
	snprintf(s->result, sizeof(s->result), "%s", r);
}

void subca_metrics_issuance(const char *authority, const char *provisioner,
			    const char *result)
{
	struct subca__iss_series key = {0}, *s;

	subca__iss_set(&key, authority ? authority : "", provisioner ? provisioner : "",
		       result ? result : "");
	pthread_mutex_lock(&subca__m.mu);
	for (size_t i = 0; subca__m.iss != NULL && i < subca__m.niss; i++) {
		s = &subca__m.iss[i];
		if (strcmp(s->authority, key.authority) == 0 &&
		    strcmp(s->provisioner, key.provisioner) == 0 &&
		    strcmp(s->result, key.result) == 0) {
			s->count++;
			goto out;
		}
	}
	if (subca__m.iss == NULL)
		goto out;
	if (subca__m.niss + 1 >= SUBCA__MAX_SERIES) {
		/* the last slot gathers everything past the cap */
		s = &subca__m.iss[SUBCA__MAX_SERIES - 1];
		subca__iss_set(s, "other", "other", "other");
		subca__m.niss = SUBCA__MAX_SERIES;
		s->count++;
		goto out;
	}
	subca__m.iss[subca__m.niss] = key;
	subca__m.iss[subca__m.niss++].count = 1;
out:
	pthread_mutex_unlock(&subca__m.mu);
}

static atomic_ulong subca__shed;

void subca_metrics_connection_shed(void)
{
	atomic_fetch_add(&subca__shed, 1);
}

void subca_metrics_commit_batch(size_t n)
{
	pthread_mutex_lock(&subca__m.mu);
	subca__observe(&subca__m.batch, subca__batch_buckets, SUBCA__NBATCH,
		       (double)n);
	pthread_mutex_unlock(&subca__m.mu);
}

/* ---- rotation ---------------------------------------------------------- */

struct subca__rot_series {
	char authority[SUBCA_MAX_LABEL + 1];
	uint64_t failures;
	bool has_expiry;
	int64_t expiry;
	bool warning;
};

/* Separate from the request counters: the rotation thread records these
 * also before and after the server's metrics exist. */
static struct {
	pthread_mutex_t mu;
	struct subca__rot_series v[SUBCA__MAX_SERIES];
	size_t n;
} subca__rot = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The series of `authority` (caller holds the lock); NULL past the cap. */
static struct subca__rot_series *subca__rot_of(const char *authority)
{
	for (size_t i = 0; i < subca__rot.n; i++)
		if (strcmp(subca__rot.v[i].authority, authority) == 0)
			return &subca__rot.v[i];
	if (subca__rot.n >= SUBCA__MAX_SERIES)
		return NULL;
	snprintf(subca__rot.v[subca__rot.n].authority,
		 sizeof(subca__rot.v[0].authority), "%s", authority);
	return &subca__rot.v[subca__rot.n++];
}

void subca_metrics_rotation_failure(const char *authority)
{
	struct subca__rot_series *s;

	pthread_mutex_lock(&subca__rot.mu);
	if ((s = subca__rot_of(authority)) != NULL)
		s->failures++;
	pthread_mutex_unlock(&subca__rot.mu);
}

void subca_metrics_intermediate(const char *authority, int64_t seconds_left,
				bool warning)
{
	struct subca__rot_series *s;

	pthread_mutex_lock(&subca__rot.mu);
	if ((s = subca__rot_of(authority)) != NULL) {
		s->has_expiry = true;
		s->expiry = seconds_left;
		s->warning = warning;
	}
	pthread_mutex_unlock(&subca__rot.mu);
}

/* ---- rendering ---------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static subca_result subca__label(struct subca_buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		char esc[3] = {'\\', *v, 0};

		if (*v == '\\' || *v == '"')
			SUBCA_TRY(subca_buf_append(b, esc, 2));
		else if (*v == '\n')
			SUBCA_TRY(subca_buf_append(b, "\\n", 2));
		else
			SUBCA_TRY(subca_buf_append(b, v, 1));
	}
	return SUBCA_OK;
}

static subca_result subca__render_histogram(struct subca_buf *b,
					    const char *name,
					    const char *labels,
					    const struct subca__histogram *h,
					    const double *bounds, size_t nb)
{
	const char *sep = labels[0] ? "," : "";

	for (size_t i = 0; i < nb; i++)
		SUBCA_TRY(subca_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n",
					   name, labels, sep, bounds[i],
					   (unsigned long long)h->buckets[i]));
	SUBCA_TRY(subca_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
				   name, labels, sep,
				   (unsigned long long)h->count));
	if (labels[0] == '\0') {
		SUBCA_TRY(subca_buf_printf(b, "%s_sum %.6f\n", name, h->sum));
		return subca_buf_printf(b, "%s_count %llu\n", name,
					(unsigned long long)h->count);
	}
	SUBCA_TRY(subca_buf_printf(b, "%s_sum{%s} %.6f\n", name, labels,
				   h->sum));
	return subca_buf_printf(b, "%s_count{%s} %llu\n", name, labels,
				(unsigned long long)h->count);
}

static const struct subca_route *subca__route_at(size_t i)
{
	return i < subca__m.nroutes ? &subca__m.routes[i] : NULL;
}

static subca_result subca__render_requests(struct subca_buf *b)
{
	char label[160];

	SUBCA_TRY(subca_buf_append_str(b,
		"# HELP subca_requests_total HTTP requests answered.\n"
		"# TYPE subca_requests_total counter\n"));
	for (size_t i = 0; i < subca__m.nreqs; i++) {
		const struct subca__req_series *s = &subca__m.reqs[i];

		subca__route_label(subca__route_at(s->route), label,
				   sizeof(label));
		SUBCA_TRY(subca_buf_printf(b,
			"subca_requests_total{route=\"%s\",method=\"%s\","
			"status=\"%d\"} %llu\n",
			label, subca__methods[s->method], s->status,
			(unsigned long long)s->count));
	}
	return SUBCA_OK;
}

static subca_result subca__render_latency(struct subca_buf *b)
{
	char label[160], labels[200];

	SUBCA_TRY(subca_buf_append_str(b,
		"# HELP subca_request_duration_seconds Time from a complete "
		"request to its response.\n"
		"# TYPE subca_request_duration_seconds histogram\n"));
	for (size_t i = 0; i <= subca__m.nroutes; i++) {
		if (subca__m.latency[i].count == 0)
			continue;
		subca__route_label(subca__route_at(i), label, sizeof(label));
		snprintf(labels, sizeof(labels), "route=\"%s\"", label);
		SUBCA_TRY(subca__render_histogram(
			b, "subca_request_duration_seconds", labels,
			&subca__m.latency[i], subca__latency_buckets,
			SUBCA__NLAT));
	}
	return SUBCA_OK;
}

static subca_result subca__render_issuances(struct subca_buf *b)
{
	SUBCA_TRY(subca_buf_append_str(b,
		"# HELP subca_issuances_total Leaf issuance attempts.\n"
		"# TYPE subca_issuances_total counter\n"));
	for (size_t i = 0; i < subca__m.niss; i++) {
		const struct subca__iss_series *s = &subca__m.iss[i];

		SUBCA_TRY(subca_buf_append_str(b,
					       "subca_issuances_total{authority=\""));
		SUBCA_TRY(subca__label(b, s->authority));
		SUBCA_TRY(subca_buf_append_str(b, "\",provisioner=\""));
		SUBCA_TRY(subca__label(b, s->provisioner));
		SUBCA_TRY(subca_buf_append_str(b, "\",result=\""));
		SUBCA_TRY(subca__label(b, s->result));
		SUBCA_TRY(subca_buf_printf(b, "\"} %llu\n",
					   (unsigned long long)s->count));
	}
	return SUBCA_OK;
}

static subca_result subca__render_rotation_one(struct subca_buf *b,
					       const char *metric,
					       const char *authority,
					       long long value)
{
	SUBCA_TRY(subca_buf_printf(b, "%s{authority=\"", metric));
	SUBCA_TRY(subca__label(b, authority));
	return subca_buf_printf(b, "\"} %lld\n", value);
}

static subca_result subca__render_rotation(struct subca_buf *b)
{
	static const char *const head[] = {
		"# HELP subca_rotation_failures_total Failed unattended "
		"rotations.\n# TYPE subca_rotation_failures_total counter\n",
		"# HELP subca_intermediate_expiry_seconds Seconds the issuing "
		"intermediate has left.\n"
		"# TYPE subca_intermediate_expiry_seconds gauge\n",
		"# HELP subca_intermediate_lifetime_warning 1 when the issuing "
		"intermediate expires before the longest leaf lifetime a "
		"provisioner allows.\n"
		"# TYPE subca_intermediate_lifetime_warning gauge\n",
	};
	static const char *const name[] = {
		"subca_rotation_failures_total",
		"subca_intermediate_expiry_seconds",
		"subca_intermediate_lifetime_warning",
	};
	subca_result rv = SUBCA_OK;

	pthread_mutex_lock(&subca__rot.mu);
	for (int k = 0; k < 3 && rv == SUBCA_OK; k++) {
		rv = subca_buf_append_str(b, head[k]);
		for (size_t i = 0; rv == SUBCA_OK && i < subca__rot.n; i++) {
			const struct subca__rot_series *s = &subca__rot.v[i];
			long long v = k == 0   ? (long long)s->failures
				      : k == 1 ? (long long)s->expiry
					       : (long long)s->warning;

			if (k > 0 && !s->has_expiry)
				continue;
			rv = subca__render_rotation_one(b, name[k],
							s->authority, v);
		}
	}
	pthread_mutex_unlock(&subca__rot.mu);
	return rv;
}

static subca_result subca__render(long connections, struct subca_buf *b)
{
	SUBCA_ENSURE(subca__m.latency != NULL, SUBCA_E_STATE,
		     "metrics are not initialised");
	SUBCA_TRY(subca__render_requests(b));
	SUBCA_TRY(subca__render_latency(b));
	SUBCA_TRY(subca_buf_printf(b,
		"# HELP subca_connections_active Client connections open.\n"
		"# TYPE subca_connections_active gauge\n"
		"subca_connections_active %ld\n"
		"# HELP subca_connections_shed_total Connections closed at "
		"accept, past twice the connection cap.\n"
		"# TYPE subca_connections_shed_total counter\n"
		"subca_connections_shed_total %lu\n",
		connections, atomic_load(&subca__shed)));
	SUBCA_TRY(subca__render_issuances(b));
	SUBCA_TRY(subca__render_rotation(b));
	SUBCA_TRY(subca_buf_append_str(b,
		"# HELP subca_store_commit_batch_size Records per group-commit "
		"transaction.\n"
		"# TYPE subca_store_commit_batch_size histogram\n"));
	return subca__render_histogram(b, "subca_store_commit_batch_size", "",
				       &subca__m.batch, subca__batch_buckets,
				       SUBCA__NBATCH);
}

subca_result subca_metrics_render(long connections_active,
				  struct subca_buf *out)
{
	subca_result rv;

	subca_buf_init(out, SUBCA_MAX_RESPONSE_BODY);
	pthread_mutex_lock(&subca__m.mu);
	rv = subca__render(connections_active, out);
	pthread_mutex_unlock(&subca__m.mu);
	return rv;
}
