/*
 * HTTP/1.1 request framing watched on the wire (framing.c), so that the
 * server answers limits itself instead of libevent: libevent 2.1's evhttp
 * refuses an oversized head or body with its own plain-text 413, and has no
 * hook before it reads them.
 *
 * server.c feeds every plaintext byte a client sends, in order, before
 * evhttp reads it. The framing finds where each request's head and body
 * end (RFC 9112 6: Content-Length or chunked; no body on HEAD, as evhttp),
 * checks the head's size and shape and the body against the route's cap
 * (known from the request line and Host), and says when a request is
 * refused. It accepts only what evhttp frames the same way, so both always
 * agree on where the next pipelined request starts. No libevent here.
 */
#ifndef SUBCA_SERVER_FRAMING_H
#define SUBCA_SERVER_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "subca/buf.h"
#include "subca/error.h"

/* The body cap of the route `method` `path` (no query) on `host` (the Host
 * header or NULL). */
typedef size_t (*subca_framing_cap_fn)(void *arg, const char *method,
				       const char *path, const char *host);

enum subca_framing_state {
	SUBCA_FRAMING_IDLE = 0, /* between requests */
	SUBCA_FRAMING_HEAD,
	SUBCA_FRAMING_BODY,	   /* Content-Length bytes left */
	SUBCA_FRAMING_CHUNK_SIZE,  /* a chunk-size line */
	SUBCA_FRAMING_CHUNK_DATA,
	SUBCA_FRAMING_CHUNK_CRLF,  /* the line end after chunk data */
	SUBCA_FRAMING_TRAILER,	   /* trailer lines after the last chunk */
	SUBCA_FRAMING_DONE,	   /* a request asked to close: ignore the rest */
	SUBCA_FRAMING_REFUSED,	   /* a request was refused: ignore the rest */
};

struct subca_framing {
	/* Set by subca_framing_init. */
	subca_framing_cap_fn cap_fn;
	void *cap_arg;
	size_t max_head; /* request line + headers, and the trailer */

	enum subca_framing_state state;
	struct subca_buf head; /* the head being received */
	size_t line;	       /* bytes in the current line (head, trailer) */
	unsigned char prev;    /* the byte before */
	size_t trailer;	       /* trailer bytes so far */
	char size_line[24];    /* chunk-size line */
	size_t size_len;
	uint64_t left;	       /* body or chunk bytes still to come */
	uint64_t body;	       /* body bytes so far (chunked) */
	size_t cap;	       /* the current request's body cap */
	bool close;	       /* the current request ends the connection */
	unsigned complete;     /* requests received whole */
};

/* Start watching a connection. */
void subca_framing_init(struct subca_framing *f, subca_framing_cap_fn cap_fn,
			void *cap_arg, size_t max_head);
void subca_framing_cleanup(struct subca_framing *f);

/*
 * Feed the next `n` bytes the client sent. SUBCA_OK when they are fine so
 * far (f->complete counts requests received whole). Otherwise the request
 * being received is refused, the reason says why, the state is
 * SUBCA_FRAMING_REFUSED and later bytes are ignored:
 * SUBCA_E_HEADERS_TOO_LARGE (head or trailer over max_head),
 * SUBCA_E_TOO_LARGE (Content-Length or chunked body over the route's cap,
 * said as soon as the length or chunk size shows it),
 * SUBCA_E_NOT_IMPLEMENTED (a method or transfer coding the server does not
 * implement), SUBCA_E_BAD_HTTP (anything else malformed), SUBCA_E_NOMEM.
 */
SUBCA_MUST_CHECK subca_result subca_framing_feed(struct subca_framing *f,
						 const void *p, size_t n);

/* Bytes of a request that is not yet whole have arrived. */
bool subca_framing_started(const struct subca_framing *f);

#endif
