/* util.c - random bytes, UUIDs, times, strict parsing. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void util_random(void *out, size_t len)
{
	unsigned char *p = out;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

static const char hexdig[] = "0123456789abcdef";

void util_uuid(char out[37])
{
	unsigned char r[16];
	util_random(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexdig[r[i] >> 4];
		out[o++] = hexdig[r[i] & 15];
	}
	out[o] = '\0';
}

int util_is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return s[36] == '\0';
}

void util_request_id(char out[33])
{
	/* Ids need to be unique, not secret: a per-thread pool saves a getrandom(2) per request. */
	static _Thread_local unsigned char pool[512];
	static _Thread_local size_t left;
	if (left < 16) {
		util_random(pool, sizeof(pool));
		left = sizeof(pool);
	}
	unsigned char *r = pool + sizeof(pool) - left;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hexdig[r[i] >> 4];
		out[2 * i + 1] = hexdig[r[i] & 15];
	}
	out[32] = '\0';
	memset(r, 0, 16);
	left -= 16;
}

void util_random_hex(char *out, size_t len)
{
	unsigned char r[64];
	size_t o = 0;
	while (len > 0) {
		size_t n = len < sizeof(r) ? len : sizeof(r);
		util_random(r, n);
		for (size_t i = 0; i < n; i++) {
			out[o++] = hexdig[r[i] >> 4];
			out[o++] = hexdig[r[i] & 15];
		}
		len -= n;
	}
	out[o] = '\0';
}

/* n as width decimal digits at p. */
static void put_digits(char *p, unsigned n, int width)
{
	for (int i = width - 1; i >= 0; i--, n /= 10)
		p[i] = (char)('0' + n % 10);
}

void util_time_rfc3339(time_t t, char out[21])
{
	/*
	 * By arithmetic (H. Hinnant's civil_from_days): a list of events writes thousands of these,
	 * and gmtime_r + strftime cost ~1,500 instructions each. Years outside 0000-9999 as before.
	 */
	long long days = (long long)t / 86400, secs = (long long)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	long long y = (long long)yoe + era * 400 + (m <= 2);
	if (y < 0 || y > 9999) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return;
	}
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put_digits(out, (unsigned)y, 4);
	put_digits(out + 5, m, 2);
	put_digits(out + 8, d, 2);
	put_digits(out + 11, (unsigned)(secs / 3600), 2);
	put_digits(out + 14, (unsigned)(secs / 60 % 60), 2);
	put_digits(out + 17, (unsigned)(secs % 60), 2);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int util_parse_rfc3339(const char *s, time_t *out)
{
	int Y, M, D, h, m, sec;
	if (strlen(s) < 20 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
	    digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &m) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap))
		return -1;
	struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
	*out = timegm(&tm) - offset;
	return 0;
}

uint64_t util_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return -1;
	const char *p = s;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (!*p || strlen(p) > 19)
		return -1;
	uint64_t v = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -1;
	if (neg && v > (uint64_t)INT64_MAX + 1)
		return -1;
	int64_t r = neg ? (int64_t)(0 - v) : (int64_t)v;
	if (r < min || r > max)
		return -1;
	*out = r;
	return 0;
}

int util_ct_equal(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

char *util_read_file(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = malloc(max + 1);
	if (!data)
		abort();
	size_t n = fread(data, 1, max + 1, f);
	int bad = ferror(f) || n > max;
	fclose(f);
	if (bad) {
		free(data);
		return NULL;
	}
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	data[n] = '\0';
	return data;
}

uint64_t util_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

int util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Valid UTF-8 without C0/C1 controls, but for tab, CR and LF when lines is set. */
static int valid_utf8(const char *s, int lines)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned ch = *p;
		if (ch < 0x80) {
			if ((ch < 0x20 && !(lines && (ch == '\t' || ch == '\r' || ch == '\n'))) || ch == 0x7f)
				return 0;
			p++;
			continue;
		}
		int n;
		unsigned cp;
		if ((ch & 0xE0) == 0xC0) {
			n = 1;
			cp = ch & 0x1F;
		} else if ((ch & 0xF0) == 0xE0) {
			n = 2;
			cp = ch & 0x0F;
		} else if ((ch & 0xF8) == 0xF0) {
			n = 3;
			cp = ch & 0x07;
		} else {
			return 0;
		}
		for (int k = 1; k <= n; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[k] & 0x3F);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0))
			return 0;
		p += n + 1;
	}
	return 1;
}

int util_valid_text(const char *s) { return valid_utf8(s, 0); }

int util_valid_email_address(const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n < 3 || n > 254 || !at || at == s || !at[1] || strchr(at + 1, '@') || at[1] == '.' || s[n - 1] == '.')
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
			return 0;
	}
	return 1;
}

int util_valid_lines(const char *s) { return valid_utf8(s, 1); }
