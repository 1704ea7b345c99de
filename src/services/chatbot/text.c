/*
 * text.c - the text of course documents, their passages, and French stems.
 *
 * Extraction works page by page: a PDF through poppler-glib (one page of text per PDF page), plain
 * text split at form feeds, Markdown and HTML stripped of their markup (one page; Markdown's
 * marks are taken out of any plain text, since file type detection calls Markdown text/plain). The text is made
 * safe first (valid UTF-8, no control characters, whitespace collapsed), so what reaches the index
 * and the answers is plain text only. Each page is cut into passages of CB_PASSAGE_WORDS words that
 * overlap by CB_PASSAGE_OVERLAP, never across pages, so that a citation's page is exact.
 *
 * Stems: words are runs of letters and digits (Latin letters with their accents), lowercased,
 * split at apostrophes ("l'énergie" gives "énergie"); French stop words are left out and the rest
 * go through Snowball's French stemmer (libstemmer), which is not thread-safe: one stemmer behind a
 * mutex (a passage is stemmed in microseconds). The same function stems passages when indexed and
 * questions when asked, so both meet on the same forms; FTS5 then folds accents
 * (remove_diacritics 2).
 *
 * Nothing here trusts the document: a broken or hostile file gives an "unreadable" status, never a
 * crash, and its text is data only (what the answers quote), never an instruction.
 */
#include "internal.h"

#include <libstemmer.h>
#include <poppler.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

/* ---- UTF-8 ---- */

/* Decodes one code point at s (n bytes left): returns its length (1 for an invalid byte, cp -1). */
static size_t utf8_next(const unsigned char *s, size_t n, long *cp)
{
	unsigned char c = s[0];
	size_t len;
	long v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2;
		v = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		v = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		v = c & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	if (len > n) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	static const long min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

static void utf8_put(buf *b, long cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_add(b, o, n);
}

/* A letter or digit of a word: ASCII alphanumerics, Latin letters with accents, ligatures. */
static int word_char(long cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
	return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x370 && cp <= 0x3FF) ||
	       (cp >= 0x400 && cp <= 0x4FF);
}

static long lower(long cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 32;
	if (cp >= 0x100 && cp <= 0x17F && !(cp & 1))
		return cp + 1; /* Latin Extended-A pairs: Œ -> œ, Ā -> ā ... */
	return cp;
}

/*
 * Appends s (n bytes) to out made safe: invalid bytes and control characters become spaces,
 * runs of whitespace one space (a form feed is kept when keep_ff: it separates pages).
 */
static void clean_into(buf *out, const char *s, size_t n, int keep_ff)
{
	const unsigned char *p = (const unsigned char *)s;
	int space = out->len == 0 || out->data[out->len - 1] == ' ';
	for (size_t i = 0; i < n;) {
		long cp;
		i += utf8_next(p + i, n - i, &cp);
		if (keep_ff && cp == '\f') {
			if (space && out->len)
				out->len--;
			buf_addc(out, '\f');
			space = 1;
			continue;
		}
		if (cp < 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xA0 || cp == 0x2028 ||
		    cp == 0x2029 || cp == 0xFEFF || cp == 0xAD) {
			if (cp == 0xAD || cp == 0xFEFF)
				continue;
			cp = ' ';
		}
		if (cp == ' ') {
			if (!space)
				buf_addc(out, ' ');
			space = 1;
			continue;
		}
		utf8_put(out, cp);
		space = 0;
	}
}

/* ---- stems ---- */

static pthread_mutex_t stem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb_stemmer *stemmer;

/* Sorted, for bsearch: articles, pronouns, auxiliaries, and the words every question has. */
static const char *const stop_words[] = {
	"a",         "afin",      "ai",     "ainsi",  "alors",   "au",    "aucun",    "aussi", "autre",    "aux",
	"avec",      "avoir",     "c",      "ca",     "ce",      "cela",  "celle",    "celui", "ces",      "cet",
	"cette",     "ceux",      "chaque", "comme",  "comment", "d",     "dans",     "de",    "definir",  "definition",
	"des",       "donc",      "donne",  "donner", "dont",    "du",    "elle",     "elles", "en",       "encore",
	"entre",     "es",        "est",    "et",     "etaient", "etait", "ete",      "etre",  "eu",       "explique",
	"expliquer", "expliquez", "fait",   "faut",   "il",      "ils",   "j",        "je",    "l",        "la",
	"le",        "les",       "leur",   "leurs",  "lui",     "m",     "ma",       "mais",  "me",       "mes",
	"moi",       "mon",       "n",      "ne",     "ni",      "nos",   "notre",    "nous",  "on",       "ont",
	"ou",        "par",       "parce",  "pas",    "peut",    "peux",  "plus",     "pour",  "pourquoi", "qu",
	"quand",     "que",       "quel",   "quelle", "quelles", "quels", "qui",      "quoi",  "role",     "s",
	"sa",        "sais",      "sans",   "se",     "ses",     "si",    "signifie", "son",   "sont",     "sur",
	"t",         "ta",        "te",     "tes",    "toi",     "ton",   "tous",     "tout",  "tu",       "un",
	"une",       "vos",       "votre",  "vous",   "y",
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The word w (lowercase UTF-8) with its French accents removed, for the stop-word check. */
static int is_stop(const char *w, size_t len)
{
	char f[32];
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)w;
	for (size_t i = 0; i < len && n < sizeof(f) - 1;) {
		long cp;
		i += utf8_next(p + i, len - i, &cp);
		if (cp >= 0xE0 && cp <= 0xE5)
			cp = 'a';
		else if (cp == 0xE7)
			cp = 'c';
		else if (cp >= 0xE8 && cp <= 0xEB)
			cp = 'e';
		else if (cp >= 0xEC && cp <= 0xEF)
			cp = 'i';
		else if (cp >= 0xF2 && cp <= 0xF6)
			cp = 'o';
		else if (cp >= 0xF9 && cp <= 0xFC)
			cp = 'u';
		if (cp >= 0x80)
			return 0; /* another letter: not one of ours */
		f[n++] = (char)cp;
	}
	if (n >= sizeof(f) - 1)
		return 0;
	f[n] = '\0';
	const char *k = f;
	return bsearch(&k, stop_words, sizeof(stop_words) / sizeof(stop_words[0]), sizeof(stop_words[0]), cmp_str) !=
	       NULL;
}

/*
 * Calls fn(word, len, ctx) for each content word of text, lowercased (not stemmed); stops when fn
 * returns non-zero.
 */
static void each_word(const char *text, int (*fn)(const char *w, size_t len, void *ctx), void *ctx)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text);
	buf w;
	buf_init(&w, 4096);
	for (size_t i = 0; i <= n;) {
		long cp = ' ';
		size_t step = 1;
		if (i < n)
			step = utf8_next(p + i, n - i, &cp);
		if (i < n && word_char(cp)) {
			if (w.len < 200)
				utf8_put(&w, lower(cp));
		} else if (w.len) {
			int stop = 0;
			if (!(w.len == 1 && w.data[0] >= 'a') && !is_stop(w.data, w.len))
				stop = fn(w.data, w.len, ctx);
			buf_reset(&w);
			if (stop)
				break;
		}
		i += step;
	}
	buf_free(&w);
}

struct stem_ctx {
	buf *out;
	const char **set;
	size_t nset, max;
	arena *a;
};

static int stem_one(const char *w, size_t len, void *ctx)
{
	struct stem_ctx *sc = ctx;
	const sb_symbol *st = sb_stemmer_stem(stemmer, (const sb_symbol *)w, (int)len);
	int sl = st ? sb_stemmer_length(stemmer) : 0;
	if (!st || sl <= 0) {
		st = (const sb_symbol *)w;
		sl = (int)len;
	}
	if (sc->out) {
		if (sc->out->len)
			buf_addc(sc->out, ' ');
		buf_add(sc->out, st, (size_t)sl);
		return 0;
	}
	for (size_t i = 0; i < sc->nset; i++)
		if (strlen(sc->set[i]) == (size_t)sl && memcmp(sc->set[i], st, (size_t)sl) == 0)
			return 0;
	char *copy = arena_alloc(sc->a, (size_t)sl + 1);
	memcpy(copy, st, (size_t)sl);
	copy[sl] = '\0';
	sc->set[sc->nset++] = copy;
	return sc->nset >= sc->max;
}

static void with_stemmer(const char *text, struct stem_ctx *sc)
{
	pthread_mutex_lock(&stem_lock);
	if (!stemmer)
		stemmer = sb_stemmer_new("french", NULL);
	if (stemmer)
		each_word(text, stem_one, sc);
	pthread_mutex_unlock(&stem_lock);
}

const char *cb_stems(arena *a, const char *text)
{
	buf b;
	buf_init(&b, 0);
	struct stem_ctx sc = {.out = &b};
	with_stemmer(text, &sc);
	char *r = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	return r;
}

size_t cb_stem_set(arena *a, const char *text, const char **v, size_t max)
{
	if (!max)
		return 0;
	struct stem_ctx sc = {.set = v, .max = max, .a = a};
	with_stemmer(text, &sc);
	return sc.nset;
}

struct words_ctx {
	buf *b;
	const char *sep;
	int n;
};

static int word_one(const char *w, size_t len, void *ctx)
{
	struct words_ctx *wc = ctx;
	if (wc->b->len)
		buf_addstr(wc->b, wc->sep);
	buf_add(wc->b, w, len);
	return ++wc->n >= 32;
}

const char *cb_words(arena *a, const char *text, const char *sep)
{
	buf b;
	buf_init(&b, 0);
	struct words_ctx wc = {&b, sep, 0};
	each_word(text, word_one, &wc);
	char *r = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	return r;
}

size_t cb_coverage(const char *stems, const char *const *q, size_t n)
{
	size_t hit = 0;
	for (size_t i = 0; i < n; i++) {
		size_t ql = strlen(q[i]);
		for (const char *p = stems; (p = strstr(p, q[i])); p += ql) {
			if ((p == stems || p[-1] == ' ') && (p[ql] == ' ' || p[ql] == '\0')) {
				hit++;
				break;
			}
		}
	}
	return hit;
}

void cb_text_stop(void)
{
	pthread_mutex_lock(&stem_lock);
	if (stemmer)
		sb_stemmer_delete(stemmer);
	stemmer = NULL;
	pthread_mutex_unlock(&stem_lock);
}

/* ---- markup ---- */

/* An HTML entity at s ("&amp;" ...): its code point and length, or 0. */
static size_t entity(const char *s, long *cp)
{
	static const struct {
		const char *name;
		long cp;
	} named[] = {{"amp", '&'},    {"lt", '<'},       {"gt", '>'},        {"quot", '"'},    {"apos", '\''},
		     {"nbsp", ' '},   {"eacute", 0xE9},  {"egrave", 0xE8},   {"ecirc", 0xEA},  {"agrave", 0xE0},
		     {"acirc", 0xE2}, {"ccedil", 0xE7},  {"ocirc", 0xF4},    {"ucirc", 0xFB},  {"ugrave", 0xF9},
		     {"icirc", 0xEE}, {"iuml", 0xEF},    {"euml", 0xEB},     {"oelig", 0x153}, {"laquo", 0xAB},
		     {"raquo", 0xBB}, {"rsquo", 0x2019}, {"hellip", 0x2026}, {"Eacute", 0xC9}};
	const char *e = strchr(s, ';');
	if (!e || e - s > 10 || e - s < 3)
		return 0;
	if (s[1] == '#') {
		char *end;
		long v = s[2] == 'x' || s[2] == 'X' ? strtol(s + 3, &end, 16) : strtol(s + 2, &end, 10);
		if (end != e || v <= 0 || v > 0x10FFFF)
			return 0;
		*cp = v;
		return (size_t)(e - s) + 1;
	}
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strlen(named[i].name) == (size_t)(e - s - 1) &&
		    strncmp(s + 1, named[i].name, (size_t)(e - s - 1)) == 0) {
			*cp = named[i].cp;
			return (size_t)(e - s) + 1;
		}
	return 0;
}

/* HTML to text: tags dropped (block tags become spaces), script/style/head contents dropped, entities decoded. */
static void html_text(const char *s, size_t n, buf *out)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == '<') {
			static const char *const skip[] = {"script", "style", "head", "template", "noscript"};
			int skipped = 0;
			for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++) {
				size_t kl = strlen(skip[k]);
				if (i + 1 + kl < n && strncasecmp(s + i + 1, skip[k], kl) == 0 &&
				    (s[i + 1 + kl] == '>' || s[i + 1 + kl] == ' ' || s[i + 1 + kl] == '\t' ||
				     s[i + 1 + kl] == '\n')) {
					char close[16];
					snprintf(close, sizeof(close), "</%s", skip[k]);
					const char *e = strcasestr(s + i, close);
					const char *gt = e ? strchr(e, '>') : NULL;
					i = gt ? (size_t)(gt - s) + 1 : n;
					skipped = 1;
					break;
				}
			}
			if (skipped)
				continue;
			if (i + 3 < n && strncmp(s + i, "<!--", 4) == 0) {
				const char *e = strstr(s + i, "-->");
				i = e ? (size_t)(e - s) + 3 : n;
				continue;
			}
			const char *gt = memchr(s + i, '>', n - i);
			i = gt ? (size_t)(gt - s) + 1 : n;
			buf_addc(out, ' ');
			continue;
		}
		long cp;
		size_t el;
		if (s[i] == '&' && (el = entity(s + i, &cp))) {
			utf8_put(out, cp);
			i += el;
			continue;
		}
		buf_addc(out, s[i++]);
	}
}

/* Markdown to text: emphasis, headings, code fences, images and link targets dropped. */
static void markdown_text(const char *s, size_t n, buf *out)
{
	for (size_t i = 0; i < n;) {
		char ch = s[i];
		if (ch == '!' && i + 1 < n && s[i + 1] == '[') {
			i++;
			continue;
		}
		if (ch == ']' && i + 1 < n && s[i + 1] == '(') {
			const char *e = memchr(s + i, ')', n - i);
			i = e ? (size_t)(e - s) + 1 : n;
			continue;
		}
		if (ch == '#' || ch == '*' || ch == '_' || ch == '`' || ch == '[' || ch == '>' || ch == '|' ||
		    ch == '~') {
			buf_addc(out, ' ');
			i++;
			continue;
		}
		buf_addc(out, ch);
		i++;
	}
}

/* ---- passages ---- */

/* Cuts one page of clean text into passages appended to *v. */
static void cut_page(arena *a, int page, const char *text, struct cb_passage **v, size_t *n, size_t *cap)
{
	/* Word starts. */
	size_t len = strlen(text), nw = 0, wcap = 0;
	size_t *starts = NULL;
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && (i == 0 || text[i - 1] == ' ')) {
			starts = arena_grow(a, starts, nw, &wcap, sizeof(*starts));
			starts[nw++] = i;
		}
	if (!nw)
		return;
	size_t stride = CB_PASSAGE_WORDS - CB_PASSAGE_OVERLAP;
	for (size_t from = 0; from < nw; from += stride) {
		size_t to = from + CB_PASSAGE_WORDS < nw ? from + CB_PASSAGE_WORDS : nw;
		size_t b = starts[from], e = to < nw ? starts[to] : len;
		while (e > b && text[e - 1] == ' ')
			e--;
		char *p = arena_alloc(a, e - b + 1);
		memcpy(p, text + b, e - b);
		p[e - b] = '\0';
		*v = arena_grow(a, *v, *n, cap, sizeof(**v));
		(*v)[(*n)++] = (struct cb_passage){page, p};
		if (to == nw)
			break;
	}
}

/* The pages of a PDF, cleaned, each into its own buf appended to pages (page texts NUL-separated). */
static int pdf_pages(arena *a, const char *data, size_t len, struct cb_doc *out, struct cb_passage **v, size_t *n,
		     size_t *cap)
{
	GBytes *bytes = g_bytes_new(data, len);
	GError *err = NULL;
	PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &err);
	g_bytes_unref(bytes);
	if (!doc) {
		int enc = err && err->domain == POPPLER_ERROR && err->code == POPPLER_ERROR_ENCRYPTED;
		out->status = CB_UNREADABLE;
		out->reason = enc ? "le document est protégé par un mot de passe" : "le PDF ne peut pas être lu";
		if (err)
			g_error_free(err);
		return 0;
	}
	int np = poppler_document_get_n_pages(doc);
	out->pages = np;
	buf clean;
	buf_init(&clean, 0);
	for (int i = 0; i < np; i++) {
		PopplerPage *pg = poppler_document_get_page(doc, i);
		if (!pg)
			continue;
		char *t = poppler_page_get_text(pg);
		if (t) {
			buf_reset(&clean);
			clean_into(&clean, t, strlen(t), 0);
			if (clean.data)
				cut_page(a, i + 1, clean.data, v, n, cap);
			g_free(t);
		}
		g_object_unref(pg);
	}
	buf_free(&clean);
	g_object_unref(doc);
	return 0;
}

int cb_extract(arena *a, const char *type, const char *data, size_t len, struct cb_doc *out)
{
	memset(out, 0, sizeof(*out));
	struct cb_passage *v = NULL;
	size_t n = 0, cap = 0;
	type = type ? type : "";
	if (strncmp(type, "application/pdf", 15) == 0 || (len > 5 && memcmp(data, "%PDF-", 5) == 0)) {
		pdf_pages(a, data, len, out, &v, &n, &cap);
		if (out->status == CB_UNREADABLE)
			return 0;
	} else if (strncmp(type, "text/", 5) == 0) {
		buf raw, clean;
		buf_init(&raw, 0);
		buf_init(&clean, 0);
		if (strncmp(type, "text/html", 9) == 0)
			html_text(data, len, &raw);
		else /* Markdown is detected as text/plain: its markup goes for both. */
			markdown_text(data, len, &raw);
		if (raw.data)
			clean_into(&clean, raw.data, raw.len, 1);
		int page = 1;
		for (char *p = clean.data; p; page++) {
			char *ff = strchr(p, '\f');
			if (ff)
				*ff = '\0';
			cut_page(a, page, p, &v, &n, &cap);
			out->pages = page;
			p = ff ? ff + 1 : NULL;
		}
		buf_free(&raw);
		buf_free(&clean);
	} else {
		out->status = CB_UNREADABLE;
		out->reason = "ce format de fichier n'est pas lu par l'assistant (PDF, texte, Markdown ou HTML)";
		return 0;
	}
	out->passages = v;
	out->npassages = n;
	if (!n) {
		out->status = CB_EMPTY;
		out->reason = "le document ne contient pas de texte lisible (un document scanné ?)";
	}
	return 0;
}

const char *cb_course_token(arena *a, const char *course_id)
{
	size_t n = strlen(course_id);
	char *t = arena_alloc(a, n + 2);
	size_t o = 0;
	t[o++] = 'c';
	for (size_t i = 0; i < n; i++)
		if (course_id[i] != '-')
			t[o++] = (char)(course_id[i] | 0x20);
	t[o] = '\0';
	return t;
}

const char *cb_course_stems(arena *a, const char *course_token, const char *stems)
{
	size_t tl = strlen(course_token), n = 1;
	for (const char *p = stems; *p; p++)
		n += *p == ' ' ? 1 : 0;
	char *t = arena_alloc(a, strlen(stems) + n * tl + 1);
	size_t o = 0;
	for (const char *p = stems; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (o)
			t[o++] = ' ';
		memcpy(t + o, course_token, tl);
		o += tl;
		while (*p && *p != ' ')
			t[o++] = *p++;
	}
	t[o] = '\0';
	return t;
}
