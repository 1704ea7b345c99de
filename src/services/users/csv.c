/*
 * csv.c - RFC 4180 record parsing (see csv.h).
 *
 * A small state machine over the bytes of one record: at the start of each field it decides
 * between a quoted and a plain field, copies the field's bytes into the caller's storage
 * (unquoting doubled quotes), and stops at the separator (next field), a line end (end of record) or
 * the end of the data. On a malformed record it resynchronises at the next line end, so one bad
 * line costs one line. It must never read past len or write past out->cap.
 */
#include "csv.h"

#include <string.h>

/* Index just past the next line end at or after i (or len). Counts the break in *lines. */
static size_t skip_line(const char *data, size_t len, size_t i, unsigned *lines)
{
	while (i < len && data[i] != '\n' && data[i] != '\r')
		i++;
	if (i < len) {
		(*lines)++;
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			i++;
		i++;
	}
	return i;
}

int csv_parse_line(const char *data, size_t len, size_t *consumed, struct csv_record *out)
{
	size_t i = 0, o = 0;
	const char sep = out->sep ? out->sep : ',';
	out->nfields = 0;
	out->lines = 0;
	*consumed = 0;
	if (len == 0)
		return CSV_END;
	int rc;
	for (;;) {
		if (out->nfields == CSV_MAX_FIELDS) {
			rc = CSV_ETOOMANY;
			goto bad;
		}
		size_t start = o;
		if (i < len && data[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					*consumed = len;
					return CSV_EUNTERMINATED;
				}
				char ch = data[i];
				if (ch == '"') {
					if (i + 1 < len && data[i + 1] == '"') {
						i += 2;
					} else {
						i++;
						break;
					}
				} else {
					i++;
					if (ch == '\n' || (ch == '\r' && !(i < len && data[i] == '\n')))
						out->lines++;
				}
				if (o + 1 >= out->cap) {
					rc = CSV_ETOOLONG;
					goto bad;
				}
				out->store[o++] = ch;
			}
			if (i < len && data[i] != sep && data[i] != '\n' && data[i] != '\r') {
				rc = CSV_EQUOTE;
				goto bad;
			}
		} else {
			while (i < len && data[i] != sep && data[i] != '\n' && data[i] != '\r') {
				if (data[i] == '"') {
					rc = CSV_EQUOTE;
					goto bad;
				}
				if (o + 1 >= out->cap) {
					rc = CSV_ETOOLONG;
					goto bad;
				}
				out->store[o++] = data[i++];
			}
		}
		if (o >= out->cap) {
			rc = CSV_ETOOLONG;
			goto bad;
		}
		out->store[o++] = '\0';
		out->fields[out->nfields] = out->store + start;
		out->lens[out->nfields] = o - 1 - start;
		out->nfields++;
		if (i >= len)
			break;
		if (data[i] == sep) {
			i++;
			continue;
		}
		/* A line end closes the record. */
		out->lines++;
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
			i++;
		i++;
		break;
	}
	*consumed = i;
	return CSV_RECORD;
bad:
	out->nfields = 0;
	*consumed = skip_line(data, len, i, &out->lines);
	return rc;
}

size_t csv_bom_len(const char *data, size_t len) { return len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; }

char csv_detect_sep(const char *data, size_t len)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		if (ch == '"')
			quoted = !quoted; /* a doubled quote toggles twice */
		else if (quoted)
			continue;
		else if (ch == '\n' || ch == '\r')
			break;
		else if (ch == ',')
			comma++;
		else if (ch == ';')
			semi++;
		else if (ch == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return semi > tab ? ';' : ',';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

const char *csv_strerror(int rc)
{
	switch (rc) {
	case CSV_EQUOTE:
		return "guillemet mal placé (un champ qui contient un guillemet doit être entre guillemets, "
		       "ses guillemets doublés)";
	case CSV_EUNTERMINATED: return "un champ entre guillemets n'est pas refermé avant la fin du fichier";
	case CSV_ETOOMANY: return "trop de champs";
	case CSV_ETOOLONG: return "ligne trop longue";
	default: return "ligne mal formée";
	}
}
