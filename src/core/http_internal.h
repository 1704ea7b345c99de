/*
 * http_internal.h - what core modules that build their own libmicrohttpd answers (sse.c) need
 * from http.c. Not for services: they answer through http.h, sse.h and page.h.
 */
#ifndef ENT_HTTP_INTERNAL_H
#define ENT_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "http.h"

/* The request's connection. */
struct MHD_Connection *http__conn(http_req *req);
/* Queues r (consumed) as the answer, with the common headers; marks the request answered. */
void http__queue(http_req *req, int status, struct MHD_Response *r);

/* Started by http_start(): the streams' watch thread. Stopped first by http_stop(): every stream
 * is ended and, for up to a second, waited for (libmicrohttpd must not stop with suspended
 * connections). */
void sse__start(void);
void sse__stop(void);

#endif
