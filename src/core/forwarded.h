/*
 * forwarded.h - the client's address when requests come through proxies we trust.
 *
 * Behind a gateway (Traefik, nginx) every request's peer is the gateway: per-address limits
 * (logins) would then count the whole school as one client. The gateway says who the client was
 * in X-Forwarded-For (or RFC 7239 Forwarded), but anyone can send those headers, so they are read
 * only when the peer is one of the configured proxies (ENT_TRUSTED_PROXIES: addresses or CIDR
 * ranges, IPv4 and IPv6). The client is then the right-most address of the header that is not a
 * trusted proxy itself (each proxy appends what it saw; what the client wrote is on the left and
 * cannot be trusted).
 */
#ifndef ENT_FORWARDED_H
#define ENT_FORWARDED_H

#include <stddef.h>

#include "arena.h"
#include "http.h"

/*
 * Sets the trusted proxies from a comma list ("10.0.0.1,10.1.0.0/16,::1"; empty: none). Returns 0,
 * or -1 with a one-line reason in err (nothing changed). Call before the server starts.
 */
int forwarded_set_trusted(const char *list, char *err, size_t errlen);

/* Checks a list as forwarded_set_trusted() would, without keeping it. 0 or -1 with err. */
int forwarded_check(const char *list, char *err, size_t errlen);

/*
 * The client's address from the peer's and the request's X-Forwarded-For and Forwarded headers
 * (either may be NULL): peer unless it is a trusted proxy; else the right-most forwarded address
 * that is not a trusted proxy (an arena string). X-Forwarded-For is read before Forwarded.
 */
const char *forwarded_client(arena *a, const char *peer, const char *xff, const char *forwarded);

/* The client's address for req (the peer's, or the forwarded one from a trusted proxy). */
const char *http_client_addr(http_req *req);

#endif
