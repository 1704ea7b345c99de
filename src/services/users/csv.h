/*
 * csv.h - an RFC 4180 CSV record parser, small enough to fuzz.
 *
 * csv_parse_line() reads one record (a "line" that may span several physical lines when a quoted
 * field holds line breaks) from a buffer and splits it into fields, unquoting them into storage
 * the caller provides. It never allocates and never reads past len; all state is in its
 * arguments, so a fuzzer can call it on any bytes. Accepted: fields quoted with '"', doubled
 * quotes inside them, CRLF, LF or CR line ends, a last line without a line end. The separator is
 * the comma, or the one the caller sets in the record (';' from French Excel, a tab): see
 * csv_detect_sep(). A UTF-8 byte order mark is the caller's to skip (csv_bom_len). Spaces are
 * kept: trimming is the caller's policy.
 */
#ifndef ENT_USERS_CSV_H
#define ENT_USERS_CSV_H

#include <stddef.h>

#define CSV_MAX_FIELDS 32

enum csv_result {
	CSV_RECORD = 1,         /* a record was read into out */
	CSV_END = 0,            /* no data left */
	CSV_EQUOTE = -1,        /* a quote inside an unquoted field, or text after a closing quote */
	CSV_EUNTERMINATED = -2, /* a quoted field runs to the end of the data */
	CSV_ETOOMANY = -3,      /* more than CSV_MAX_FIELDS fields */
	CSV_ETOOLONG = -4,      /* the record does not fit in the storage given */
};

struct csv_record {
	char *store; /* storage for the unquoted fields (caller's), cap bytes */
	size_t cap;
	size_t nfields;
	char *fields[CSV_MAX_FIELDS]; /* NUL-terminated, pointing into store */
	size_t lens[CSV_MAX_FIELDS];  /* lengths (a field may contain NUL bytes: check lens) */
	unsigned lines;               /* physical line breaks consumed, so the caller can number lines */
	char sep;                     /* the field separator: ',' (also when 0), ';' or '\t'; set by the caller */
};

/*
 * Parses the record that starts at data[0] (len bytes available). Returns a csv_result and sets
 * *consumed to the bytes to skip before the next call: after an error other than
 * CSV_EUNTERMINATED, parsing can go on at the next physical line. An empty line is a record of
 * one empty field.
 */
int csv_parse_line(const char *data, size_t len, size_t *consumed, struct csv_record *out);

/* 3 if data starts with a UTF-8 byte order mark, else 0. */
size_t csv_bom_len(const char *data, size_t len);

/*
 * The separator of a document, from its first record (quotes respected): whichever of ',', ';' and
 * tab appears most often outside quotes; ',' when none does or on a tie.
 */
char csv_detect_sep(const char *data, size_t len);

/* A short French description of a csv_result error. */
const char *csv_strerror(int rc);

#endif
