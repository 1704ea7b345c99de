/*
 * forwarded.c - the client's address behind trusted proxies (forwarded.h).
 *
 * The trusted list is parsed once at start into an array of (family, address bytes, prefix
 * length) and only read afterwards, from every worker thread.
 */
#include "forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define MAX_PROXIES 64

struct net {
	int family;
	unsigned char addr[16];
	int bits;
};

static struct net trusted[MAX_PROXIES];
static int ntrusted;

/* Parses an address (IPv4 or IPv6, no brackets) into n with a full prefix. 0 or -1. */
static int parse_addr(const char *s, struct net *n)
{
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, s, n->addr) == 1) {
		n->family = AF_INET;
		n->bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, n->addr) == 1) {
		n->family = AF_INET6;
		n->bits = 128;
		return 0;
	}
	return -1;
}

static int parse_list(const char *list, struct net *out, int *n, char *err, size_t errlen)
{
	*n = 0;
	const char *p = list ? list : "";
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, ", ");
		char item[64];
		if (len >= sizeof(item) || *n == MAX_PROXIES) {
			snprintf(err, errlen, "expected at most %d addresses or CIDR ranges", MAX_PROXIES);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		char *slash = strchr(item, '/');
		int bits = -1;
		if (slash) {
			*slash = '\0';
			char *end;
			long b = strtol(slash + 1, &end, 10);
			if (*end || end == slash + 1 || b < 0 || b > 128) {
				snprintf(err, errlen, "\"%s/%s\" is not a CIDR range", item, slash + 1);
				return -1;
			}
			bits = (int)b;
		}
		struct net net;
		if (parse_addr(item, &net) || (bits >= 0 && bits > net.bits)) {
			snprintf(err, errlen, "\"%s\" is not an IP address or CIDR range", item);
			return -1;
		}
		if (bits >= 0)
			net.bits = bits;
		out[(*n)++] = net;
	}
	return 0;
}

int forwarded_check(const char *list, char *err, size_t errlen)
{
	struct net tmp[MAX_PROXIES];
	int n;
	return parse_list(list, tmp, &n, err, errlen);
}

int forwarded_set_trusted(const char *list, char *err, size_t errlen)
{
	struct net tmp[MAX_PROXIES];
	int n;
	if (parse_list(list, tmp, &n, err, errlen))
		return -1;
	memcpy(trusted, tmp, sizeof(tmp));
	ntrusted = n;
	return 0;
}

/* 1 if the address text s is in a trusted range. */
static int is_trusted(const char *s)
{
	struct net a;
	if (parse_addr(s, &a))
		return 0;
	for (int i = 0; i < ntrusted; i++) {
		const struct net *t = &trusted[i];
		if (t->family != a.family)
			continue;
		int full = t->bits / 8, rest = t->bits % 8;
		if (memcmp(t->addr, a.addr, (size_t)full) != 0)
			continue;
		if (rest && ((t->addr[full] ^ a.addr[full]) & (0xFF << (8 - rest))))
			continue;
		return 1;
	}
	return 0;
}

/*
 * Copies one element of a forwarding header into out: an address, from X-Forwarded-For ("a") or
 * from a Forwarded element's for= ("for=a", "for=\"[v6]:port\""), without brackets or port.
 * 0, or -1 when the element names no address (obfuscated identifiers, "unknown").
 */
static int element_addr(const char *s, size_t len, int forwarded, char out[64])
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (forwarded) {
		/* The for= parameter among ;-separated pairs. */
		const char *f = NULL;
		size_t flen = 0;
		for (size_t i = 0; i < len;) {
			size_t j = i;
			while (j < len && s[j] != ';')
				j++;
			const char *kv = s + i;
			while (kv < s + j && *kv == ' ')
				kv++;
			if ((size_t)(s + j - kv) > 4 && strncasecmp(kv, "for=", 4) == 0) {
				f = kv + 4;
				flen = (size_t)(s + j - f);
			}
			i = j + 1;
		}
		if (!f)
			return -1;
		s = f;
		len = flen;
		if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
			s++, len -= 2;
	}
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return -1;
		len = (size_t)(close - s - 1);
		s++;
	} else if (memchr(s, '.', len) && memchr(s, ':', len)) {
		len = (size_t)((const char *)memchr(s, ':', len) - s); /* IPv4 with a port */
	}
	if (len == 0 || len >= 64)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	struct net n;
	return parse_addr(out, &n);
}

const char *forwarded_client(arena *a, const char *peer, const char *xff, const char *forwarded)
{
	if (!ntrusted || !peer || !is_trusted(peer))
		return peer;
	const char *h = xff;
	int fwd = 0;
	if (!h) {
		h = forwarded;
		fwd = 1;
	}
	if (!h || strlen(h) > 4096)
		return peer;
	/* From the right: the first address that is not one of our proxies. */
	const char *end = h + strlen(h);
	char addr[64];
	const char *last_good = NULL;
	while (end > h) {
		const char *start = end;
		while (start > h && start[-1] != ',')
			start--;
		if (element_addr(start, (size_t)(end - start), fwd, addr))
			return last_good ? last_good : peer; /* an element we cannot read: stop trusting */
		const char *copy = arena_strdup(a, addr);
		if (!is_trusted(addr))
			return copy;
		last_good = copy;
		end = start > h ? start - 1 : h;
	}
	return last_good ? last_good : peer;
}

const char *http_client_addr(http_req *req)
{
	return forwarded_client(http_arena(req), http_client_ip(req), http_header(req, "X-Forwarded-For"),
				http_header(req, "Forwarded"));
}
