/*
 * schema.h - JSON Schema fragments for the OpenAPI document, shared by every service's route table.
 *
 * A route describes its body and its answer as JSON Schema text (struct route .request_schema,
 * .response_schema in http.h); services build them from these pieces with string literal
 * concatenation, so the document costs nothing at run time. Service-specific shapes (a course, a
 * ticket) stay in their service; only what every service writes the same way lives here.
 */
#ifndef ENT_SCHEMA_H
#define ENT_SCHEMA_H

#define S_STR "{\"type\":\"string\"}"
#define S_NSTR "{\"type\":[\"string\",\"null\"]}"
#define S_BOOL "{\"type\":\"boolean\"}"
#define S_INT "{\"type\":\"integer\"}"
#define S_NUM "{\"type\":\"number\"}"
#define S_NNUM "{\"type\":[\"number\",\"null\"]}"
#define S_UUID "{\"type\":\"string\",\"format\":\"uuid\"}"
#define S_NUUID "{\"type\":[\"string\",\"null\"],\"format\":\"uuid\"}"
#define S_DATE "{\"type\":\"string\",\"format\":\"date\"}"
#define S_TIME "{\"type\":\"string\",\"format\":\"date-time\"}"
#define S_NTIME "{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}"
#define S_IDS "{\"type\":\"array\",\"items\":" S_UUID "}"
/* A page of a list (core/page.h): {"items": [item...], "next_cursor": "..." | null}. */
#define S_LIST(item)                                                                                                   \
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":\"array\"," \
	"\"items\":" item "},\"next_cursor\":" S_NSTR "}}"

#endif
