/*
 * openapi.h - the OpenAPI 3.1 document, generated from the route table.
 *
 * Because the document is built from the same table the router dispatches from, a route cannot
 * exist without being documented. Routes give a summary, who may call them, and optional JSON
 * Schemas for their body and answer.
 */
#ifndef ENT_OPENAPI_H
#define ENT_OPENAPI_H

#include <stddef.h>

/* Builds the document from the router's current table. Call once, after all routes are added. */
void openapi_build(const char *public_url);
/* The document (valid until openapi_free()). Empty object text if not built. */
const char *openapi_document(size_t *len);
void openapi_free(void);

#endif
